// Fetch latency through the real plugin loader and host for the bundled file and env
// providers: ProviderInstance::Fetch -> plugin -> host secure memory -> sealed SecretBuffer.
//
//   cmake --build BUILD --target fetch_bench latchkey_provider_file latchkey_provider_env
//   BUILD/bench/fetch_bench --benchmark_min_time=2
//
// Each benchmark also times every iteration on its own and reports the p50 and p99 of those
// timings (counters p50_us and p99_us), since a mean hides the tail that a build step waits on.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "bench/timed_loop.h"
#include "broker/plugin_test_util.h"
#include "broker/provider_instance.h"
#include "secure/hardening.h"

namespace latchkey {
namespace {

using bench::TimedLoop;

std::unique_ptr<ProviderInstance> MustCreate(const std::string& provider,
                                             std::vector<ConfigValue> config) {
  auto lib = PluginLoader::Load(plugintest::ProviderPath(provider));
  if (!lib.ok()) {
    std::fprintf(stderr, "%s\n", lib.status().ToString().c_str());
    std::exit(1);
  }
  auto inst = ProviderInstance::Create(*lib, config);
  if (!inst.ok()) {
    std::fprintf(stderr, "%s\n", inst.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*inst);
}

void BM_FetchFile(benchmark::State& state) {
  plugintest::ScratchDir dir;
  std::string path = dir.Write("secret", std::string(static_cast<size_t>(state.range(0)), 's'));
  auto inst = MustCreate("file", {});
  FetchRequest req;
  req.ref = path;
  req.secret_id = "bench";
  TimedLoop(state, [&] { return inst->Fetch(req); });
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_FetchFile)->Arg(64)->Arg(4096)->Arg(512000);

void BM_FetchEnv(benchmark::State& state) {
  std::string raw;
  for (int i = 0; i < 100; ++i) {
    raw += "VAR_" + std::to_string(i) + "=" + std::string(40, 'v');
    raw.push_back('\0');
  }
  raw += "TOKEN=" + std::string(static_cast<size_t>(state.range(0)), 't');
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
  if (!buf.ok()) std::exit(1);
  auto inst = MustCreate("env", {ConfigValue::Secret("environment", std::move(*buf))});
  FetchRequest req;
  req.ref = "TOKEN";
  req.secret_id = "bench";
  TimedLoop(state, [&] { return inst->Fetch(req); });
}
BENCHMARK(BM_FetchEnv)->Arg(64)->Arg(4096);

}  // namespace
}  // namespace latchkey

int main(int argc, char** argv) {
  auto hardened = latchkey::HardenProcess();
  if (!hardened.ok()) {
    std::fprintf(stderr, "%s\n", hardened.status().ToString().c_str());
    return 1;
  }
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
