// The encrypted store (store/): create throughput, fetch latency through the provider
// plugin, and open time with 100,000 secrets.
//
//   build-dir/bench/store_bench                       # everything
//   build-dir/bench/store_bench --benchmark_filter=Fetch
//
// Stores live under /tmp/latchkey-store-bench/ and are reused between runs (the 100,000-secret
// store takes a few seconds to generate); delete the folder to start over. Argon2id is not
// involved (unlock key files). SQLite runs with synchronous=FULL as in production, so a create
// in its own transaction pays for an fsync; CreateMany batches them.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "broker/plugin_config.h"
#include "broker/plugin_loader.h"
#include "broker/provider_instance.h"
#include "store/store.h"

namespace {

using latchkey::store::KeySource;
using latchkey::store::NewSecret;
using latchkey::store::Store;

const std::string kDir = "/tmp/latchkey-store-bench";

std::string BuildDir() {
  if (const char* env = std::getenv("LATCHKEY_BUILD_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().string();
}

std::string Data(size_t i) {
  std::string d = "registry-token-" + std::to_string(i) + "-";
  while (d.size() < 96) d += static_cast<char>('a' + (d.size() * 7 + i) % 26);
  return d;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A store of `n` secrets named s0..s<n-1> at <kDir>/<n>/, created once (CreateMany in batches
// of 10,000) and reused.
std::string EnsureStore(size_t n, std::string* key) {
  std::string dir = kDir + "/" + std::to_string(n);
  std::string db = dir + "/secrets.db";
  *key = dir + "/unlock.key";
  if (std::filesystem::exists(db) && std::filesystem::exists(*key)) return db;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto s = Store::Init(db, KeySource::UnlockKeyFile(*key), nullptr);
  if (!s.ok()) std::abort();
  for (size_t start = 0; start < n; start += 10000) {
    std::vector<std::string> data;
    std::vector<NewSecret> batch;
    for (size_t i = start; i < std::min(n, start + 10000); ++i) data.push_back(Data(i));
    for (size_t i = start; i < std::min(n, start + 10000); ++i) {
      batch.push_back({"s" + std::to_string(i), Bytes(data[i - start]), {{"team", "bench"}}});
    }
    if (!(*s)->CreateMany(batch).ok()) std::abort();
  }
  return db;
}

std::unique_ptr<Store> FreshStore(const std::string& name) {
  std::string dir = kDir + "/fresh-" + name;
  std::filesystem::remove_all(dir);
  auto s = Store::Init(dir + "/secrets.db", KeySource::UnlockKeyFile(dir + "/unlock.key"), nullptr);
  if (!s.ok()) std::abort();
  return std::move(s).value();
}

// 10,000 creates in one CreateMany transaction.
void BM_Create10000Batched(benchmark::State& state) {
  std::vector<std::string> data;
  for (size_t i = 0; i < 10000; ++i) data.push_back(Data(i));
  for (auto _ : state) {
    state.PauseTiming();
    auto store = FreshStore("batched");
    std::vector<NewSecret> batch;
    for (size_t i = 0; i < data.size(); ++i) {
      batch.push_back({"s" + std::to_string(i), Bytes(data[i]), {}});
    }
    state.ResumeTiming();
    if (!store->CreateMany(batch).ok()) state.SkipWithError("CreateMany failed");
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_Create10000Batched)->Iterations(3)->Unit(benchmark::kMillisecond);

// Creates, each in its own transaction (one fsync each); 10,000 of them.
void BM_CreateOnePerTransaction(benchmark::State& state) {
  auto store = FreshStore("single");
  size_t i = 0;
  for (auto _ : state) {
    std::string d = Data(i);
    if (!store->Create("s" + std::to_string(i++), Bytes(d), {}).ok()) {
      state.SkipWithError("Create failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CreateOnePerTransaction)->Iterations(10000)->Unit(benchmark::kMicrosecond);

// Fetches of random names from a 10,000-secret store through latchkey-store.so, loaded and
// driven by the broker (PluginLoader + ProviderInstance). Reports p50/p99 in microseconds.
void BM_FetchThroughPlugin(benchmark::State& state) {
  std::string key;
  std::string db = EnsureStore(10000, &key);
  auto lib = latchkey::PluginLoader::Load(BuildDir() + "/lib/latchkey/providers/latchkey-store.so");
  if (!lib.ok()) {
    state.SkipWithError(lib.status().ToString().c_str());
    return;
  }
  auto inst = latchkey::ProviderInstance::Create(
      *lib, {latchkey::ConfigValue::Text("path", db),
             latchkey::ConfigValue::Text("unlock_key_file", key)});
  if (!inst.ok()) {
    state.SkipWithError(inst.status().ToString().c_str());
    return;
  }
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> pick(0, 9999);
  std::vector<double> us;
  latchkey::FetchRequest req;
  req.secret_id = "bench";
  for (auto _ : state) {
    req.ref = "s" + std::to_string(pick(rng));
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*inst)->Fetch(req);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}
BENCHMARK(BM_FetchThroughPlugin)->Iterations(20000)->Unit(benchmark::kMicrosecond);

// Store::Open (read meta, check the unlock key, unwrap the data key) of a store with `secrets`
// secrets.
void OpenStore(benchmark::State& state, int secrets) {
  std::string key;
  std::string db = EnsureStore(secrets, &key);
  for (auto _ : state) {
    auto s = Store::Open(db, KeySource::UnlockKeyFile(key));
    if (!s.ok()) state.SkipWithError(s.status().ToString().c_str());
    benchmark::DoNotOptimize(s);
  }
}

void BM_Open100000(benchmark::State& state) { OpenStore(state, 100000); }
BENCHMARK(BM_Open100000)->Unit(benchmark::kMicrosecond);

// The same with 10,000 secrets: open time must not grow with the store.
void BM_Open10000(benchmark::State& state) { OpenStore(state, 10000); }
BENCHMARK(BM_Open10000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
