// Fetch latency through a whole broker session: resolve, policy, provider (file plugin),
// durable audit record, cache. Cached fetches skip the provider but still write their audit
// record; uncached ones open a fresh session per iteration so the provider is called.
//
//   make bench   (or: build-release/bench/session_bench --benchmark_min_time=1)
//
// Reports p50/p99 (counters p50_us, p99_us). The audit log runs in group-commit mode on a real
// file under /tmp, so every fetch includes an fdatasync; `/fsync:none` shows the cost without.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "broker/audit/audit_keys.h"
#include "broker/audit/audit_log.h"
#include "broker/plugin_test_util.h"
#include "broker/session.h"
#include "secure/hardening.h"

namespace latchkey {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir;
  std::unique_ptr<audit::AuditLog> log;
  std::unique_ptr<SessionManager> manager;
  std::string secret_path;

  explicit Fixture(audit::FsyncMode mode) {
    dir = fs::temp_directory_path() / ("lk-session-bench-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    secret_path = (dir / "npmrc").string();
    std::ofstream(secret_path) << std::string(256, 'x');
    auto keys = audit::GenerateKeys();
    audit::AuditOptions ao;
    ao.path = (dir / "audit.log").string();
    ao.fsync = mode;
    auto opened =
        audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys)));
    if (!opened.ok()) Die(opened.status());
    log = std::move(*opened);
    SessionManagerOptions o;
    o.providers.push_back({"file", plugintest::ProviderPath("file"), "", {}});
    o.policy = [](const PolicyRequest& r) { return Policy().Decide(r); };
    o.audit = log.get();
    auto m = SessionManager::Create(std::move(o));
    if (!m.ok()) Die(m.status());
    manager = std::move(*m);
  }
  ~Fixture() {
    manager.reset();
    log.reset();
    fs::remove_all(dir);
  }
  std::shared_ptr<Session> Open() {
    SessionAttributes a;
    a.declared = {{"npmrc", SecretSource::Kind::kFile, secret_path, ""}};
    auto s = manager->Open(std::move(a));
    if (!s.ok()) Die(s.status());
    return *s;
  }
  [[noreturn]] static void Die(const Status& st) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    std::exit(1);
  }
};

void Report(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) { return ns[static_cast<size_t>(p * double(ns.size() - 1))] / 1000.0; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
}

// Fetches "npmrc" once, appending its time in ns to `ns`; false (with the benchmark marked
// failed) when the fetch fails.
bool TimedFetch(benchmark::State& state, Session& session, std::vector<double>& ns) {
  auto start = std::chrono::steady_clock::now();
  auto v = session.Fetch("npmrc", {});
  ns.push_back(
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
  if (!v.ok()) {
    state.SkipWithError(v.status().ToString().c_str());
    return false;
  }
  return true;
}

audit::FsyncMode Mode(const benchmark::State& state) {
  return state.range(0) == 0 ? audit::FsyncMode::kGroup : audit::FsyncMode::kNone;
}

void BM_SessionFetchCached(benchmark::State& state) {
  Fixture f(Mode(state));
  auto session = f.Open();
  if (!session->Fetch("npmrc", {}).ok()) Fixture::Die(InternalError("first fetch failed"));
  std::vector<double> ns;
  for (auto _ : state) {
    if (!TimedFetch(state, *session, ns)) return;
  }
  Report(state, ns);
}

void BM_SessionFetchUncached(benchmark::State& state) {
  Fixture f(Mode(state));
  std::vector<double> ns;
  for (auto _ : state) {
    state.PauseTiming();
    auto session = f.Open();
    state.ResumeTiming();
    if (!TimedFetch(state, *session, ns)) return;
    state.PauseTiming();
    (void)session->Close();
    state.ResumeTiming();
  }
  Report(state, ns);
}

BENCHMARK(BM_SessionFetchCached)->ArgName("fsync_none")->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_SessionFetchUncached)->ArgName("fsync_none")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace latchkey

int main(int argc, char** argv) {
  (void)latchkey::HardenProcess();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
