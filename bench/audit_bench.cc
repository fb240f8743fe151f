// Audit log append throughput: fdatasync per record vs group commit, at 1, 4 and 16 concurrent
// appenders, on real files under /tmp (the root disk on the build machine; check `df /tmp`).
// Baseline: a bare write(2)+fdatasync loop, the floor for one durable record at a time.
//
//   build/bench/audit_bench --benchmark_min_time=2
//
// items_per_second is records made durable per second across all threads (real time).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "broker/audit/audit_keys.h"
#include "broker/audit/audit_log.h"

namespace {

using namespace latchkey;
using namespace latchkey::audit;

std::unique_ptr<AuditLog> g_log;
std::string g_dir;
std::shared_ptr<const AuditKeys> g_keys;
std::unique_ptr<SecretBuffer> g_value;

void MakeDir() {
  char tmpl[] = "/tmp/lk-audit-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) std::abort();
  g_dir = tmpl;
}

void Setup(FsyncMode mode) {
  if (!g_keys) {
    auto keys = GenerateKeys();
    if (!keys.ok()) std::abort();
    g_keys = std::make_shared<const AuditKeys>(std::move(keys).value());
    std::string v(64, 'v');
    auto value = SecretBuffer::CopyOf(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    if (!value.ok()) std::abort();
    g_value = std::make_unique<SecretBuffer>(std::move(value).value());
  }
  MakeDir();
  AuditOptions o;
  o.path = g_dir + "/audit.log";
  o.fsync = mode;
  o.max_bytes = 0;
  auto log = AuditLog::Open(o, g_keys);
  if (!log.ok()) std::abort();
  g_log = std::move(log).value();
}

void SetupPerRecord(const benchmark::State&) { Setup(FsyncMode::kPerRecord); }
void SetupGroup(const benchmark::State&) { Setup(FsyncMode::kGroup); }

void Teardown(const benchmark::State&) {
  g_log.reset();
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

SecretFetchRecord Fetch(int thread) {
  SecretFetchRecord r;
  r.session = "bench-session-" + std::to_string(thread);
  r.secret = "npmrc";
  r.outcome = FetchOutcome::kGranted;
  r.rule = "allow-npm";
  r.provider = "file";
  r.reference = "/home/alice/.npmrc";
  r.step = {"build", 2, 7, "RUN --mount=type=secret,id=npmrc npm ci"};
  r.requester = "uid=1000(alice) pid=4242";
  r.duration_us = 120;
  return r;
}

void AppendLoop(benchmark::State& state) {
  SecretFetchRecord r = Fetch(state.thread_index());
  for (auto _ : state) {
    if (!g_log->AppendFetch(r, g_value.get()).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    auto stats = g_log->stats();
    state.counters["records_per_sync"] =
        stats.syncs == 0 ? 0.0 : static_cast<double>(stats.records) / stats.syncs;
  }
}

void BM_AuditAppend_PerRecordSync(benchmark::State& state) { AppendLoop(state); }
void BM_AuditAppend_GroupCommit(benchmark::State& state) { AppendLoop(state); }

BENCHMARK(BM_AuditAppend_PerRecordSync)
    ->Setup(SetupPerRecord)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();
BENCHMARK(BM_AuditAppend_GroupCommit)
    ->Setup(SetupGroup)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();

// The floor: one 400-byte line written and fdatasync'd per iteration, no audit log at all.
void BM_RawWriteFdatasync(benchmark::State& state) {
  MakeDir();
  std::string path = g_dir + "/raw.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::string line(399, 'x');
  line += '\n';
  for (auto _ : state) {
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}
BENCHMARK(BM_RawWriteFdatasync)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
