// Process isolation against inline, side by side, for the bundled file provider: the same file
// source a session hands over (opened once by the broker; inline reads /proc/self/fd/N, the
// host gets the descriptor over its socket), at 64 B and 4 KiB. Plus the cost of starting a
// host (Create + first fetch: spawn, confinement, loading, create) and one idle host's RSS.
//
//   cmake --build BUILD --target provider_host_bench latchkey-provider-host latchkey_provider_file
//   BUILD/bench/provider_host_bench --benchmark_min_time=2
//
// Goals (issue 17): <= 30 us added at p50 per fetch; <= 5 ms to start; <= 4 MiB idle RSS.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench/timed_loop.h"
#include "broker/plugin_test_util.h"
#include "broker/provider_instance.h"
#include "broker/provider_process.h"
#include "broker/source_path.h"
#include "secure/hardening.h"

namespace latchkey {
namespace {

using bench::TimedLoop;

[[noreturn]] void Die(const Status& st) {
  std::fprintf(stderr, "%s\n", st.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<ProcessProvider> StartHost(const std::string& provider) {
  ProcessProviderOptions o;
  o.name = provider;
  o.host_path = plugintest::BuildDir() + "/bin/latchkey-provider-host";
  o.plugin_path = plugintest::ProviderPath(provider);
  o.crashes = std::make_shared<CrashTracker>(3, std::chrono::minutes(1));
  auto p = ProcessProvider::Create(std::move(o));
  if (!p.ok()) Die(p.status());
  return std::move(*p);
}

std::unique_ptr<ProviderInstance> Inline(const std::string& provider) {
  auto lib = PluginLoader::Load(plugintest::ProviderPath(provider));
  if (!lib.ok()) Die(lib.status());
  auto inst = ProviderInstance::Create(*lib, {});
  if (!inst.ok()) Die(inst.status());
  return std::move(*inst);
}

// A fetch as a session makes it: the file opened once, the session's 30 s deadline.
template <typename P>
void FetchFile(benchmark::State& state, P& provider) {
  plugintest::ScratchDir dir;
  std::string path = dir.Write("secret", std::string(static_cast<size_t>(state.range(0)), 's'));
  auto opened = OpenedFile::Open("bench", path);
  if (!opened.ok()) Die(opened.status());
  FetchRequest req;
  req.ref = opened->ProcPath();
  req.file_fd = opened->fd();
  req.secret_id = "bench";
  req.timeout = std::chrono::seconds(30);
  TimedLoop(state, [&] { return provider.Fetch(req); });
}

void BM_FileInline(benchmark::State& state) {
  auto p = Inline("file");
  FetchFile(state, *p);
}
BENCHMARK(BM_FileInline)->Arg(64)->Arg(4096);

void BM_FileProcess(benchmark::State& state) {
  auto p = StartHost("file");
  FetchFile(state, *p);
}
BENCHMARK(BM_FileProcess)->Arg(64)->Arg(4096);

uint64_t RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// Start cost: Create (spawn, confine, load, create) + the first fetch; the host's RSS once idle.
void BM_HostStart(benchmark::State& state) {
  plugintest::ScratchDir dir;
  std::string path = dir.Write("secret", std::string(64, 's'));
  FetchRequest req;
  req.ref = path;
  req.secret_id = "bench";
  req.timeout = std::chrono::seconds(30);
  std::vector<double> us;
  uint64_t rss = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto p = StartHost("file");
    auto r = p->Fetch(req);
    auto stop = std::chrono::steady_clock::now();
    if (!r.ok()) Die(r.status());
    us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
    state.PauseTiming();
    rss = RssKib(p->host_pid());
    p.reset();
    state.ResumeTiming();
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[static_cast<size_t>(0.99 * static_cast<double>(us.size() - 1))];
  state.counters["idle_rss_kib"] = static_cast<double>(rss);
}
BENCHMARK(BM_HostStart)->Unit(benchmark::kMillisecond);

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
