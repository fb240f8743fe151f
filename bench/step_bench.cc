// Per-step cost of the executor: one trivial RUN (`true`) as an OCI bundle under runc, on an
// overlay of a busybox rootfs, with and without a secret file mount. Each iteration is a whole
// RunStep: bundle tmpfs + overlay mount + secret tmpfs + runc run + stub removal + teardown.
// Needs root and runc; skips (reports an error) otherwise.
//
//   build-*/bench/step_bench --benchmark_repetitions=20 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "builder/executor/executor.h"
#include "builder/executor/executor_test_util.h"

namespace {

using namespace latchkey::executor;           // NOLINT
using namespace latchkey::executor::testing;  // NOLINT

class NullSink : public OutputSink {
 public:
  void Write(OutputStream, std::string_view) override {}
};

void RunTrivialStep(benchmark::State& state, bool with_secret) {
  if (::geteuid() != 0 || std::system("runc --version >/dev/null 2>&1") != 0) {
    state.SkipWithError("needs root and runc");
    return;
  }
  char tmpl[] = "/tmp/lk-step-bench-XXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  std::string rootfs = BuildBusyboxRootfs(dir);
  ExecutorOptions options;
  options.state_dir = (dir / "state").string();
  MapSecrets secrets;
  secrets.values["tok"] = Secret("bench-secret-value");
  MountSources sources;
  NullSink sink;
  int n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    StepSpec s;
    s.lower_dirs = {rootfs};
    fs::path step = dir / ("s" + std::to_string(n++));
    s.upper_dir = (step / "upper").string();
    s.work_dir = (step / "work").string();
    fs::create_directories(s.upper_dir);
    fs::create_directories(s.work_dir);
    s.args = {"/bin/sh", "-c", with_secret ? "cat /run/secrets/tok >/dev/null" : "true"};
    if (with_secret) s.mounts = {SecretMount{.id = "tok", .target = "/run/secrets/tok"}};
    state.ResumeTiming();
    auto r = RunStep(options, s, secrets, sources, sink);
    if (!r.ok() || r->exit_code != 0) {
      state.SkipWithError(r.ok() ? "non-zero exit" : r.status().ToString().c_str());
      break;
    }
    state.PauseTiming();
    fs::remove_all(step);
    state.ResumeTiming();
  }
  fs::remove_all(dir);
}

void BM_RunStepTrivial(benchmark::State& state) { RunTrivialStep(state, false); }
void BM_RunStepWithSecretMount(benchmark::State& state) { RunTrivialStep(state, true); }

BENCHMARK(BM_RunStepTrivial)->Unit(benchmark::kMillisecond)->Iterations(20)->UseRealTime();
BENCHMARK(BM_RunStepWithSecretMount)->Unit(benchmark::kMillisecond)->Iterations(20)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
