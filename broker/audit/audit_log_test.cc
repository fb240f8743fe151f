#include "broker/audit/audit_log.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/errno_status.h"
#include "base/fault_env_testutil.h"
#include "broker/audit/audit_testutil.h"
#include "broker/audit/chain.h"
#include "broker/audit/search.h"

namespace latchkey::audit {
namespace {

using base::testing::FaultEnv;
using base::testing::FaultPlan;
using testing::Lines;
using testing::NewKeys;
using testing::QuickOptions;
using testing::ReadFile;
using testing::SampleClose;
using testing::SampleFetch;
using testing::SampleOpen;
using testing::TempDir;
using testing::VerifyPath;
using testing::WriteFile;

Result<SecretBuffer> Secret(std::string_view text) {
  return SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// The operational log as the tests see it; shared so that it outlives any writer thread.
struct OpLog {
  std::mutex mu;
  std::vector<std::string> lines;
  void Add(const std::string& m) {
    std::lock_guard<std::mutex> lk(mu);
    lines.push_back(m);
  }
  std::vector<std::string> Get() {
    std::lock_guard<std::mutex> lk(mu);
    return lines;
  }
};

// Appends session.open, a granted fetch, session.close and the close checkpoint.
void AppendSession(AuditLog& log, const std::string& session) {
  auto value = Secret("value-of-" + session);
  ASSERT_TRUE(value.ok());
  ASSERT_TRUE(log.Append(SampleOpen(session)).ok());
  ASSERT_TRUE(log.AppendFetch(SampleFetch(session, "npmrc", FetchOutcome::kGranted), &*value).ok());
  ASSERT_TRUE(log.Append(SampleClose(session)).ok());
  ASSERT_TRUE(log.Checkpoint("session.close").ok());
}

TEST(AuditLog, WritesChainedRecordsThatVerify) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit/audit.log");
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  AppendSession(**log, "s1");
  auto stats = (*log)->stats();
  EXPECT_EQ(stats.records, 3u);
  EXPECT_EQ(stats.checkpoints, 1u);
  EXPECT_EQ(stats.last_seq, 4u);

  auto lines = Lines(ReadFile(path));
  ASSERT_EQ(lines.size(), 4u);
  auto first = nlohmann::ordered_json::parse(lines[0]);
  EXPECT_EQ(first.begin().key(), "v");
  EXPECT_EQ(first["event"], "session.open");
  EXPECT_EQ(first["prev"], GenesisHash((*log)->log_id()));
  auto cp = nlohmann::ordered_json::parse(lines[3]);
  EXPECT_EQ(cp["event"], "audit.checkpoint");
  EXPECT_EQ(cp["reason"], "session.close");
  EXPECT_EQ(cp["count"], 3);
  EXPECT_EQ(cp["head"], Sha256Tagged(lines[2]));
  EXPECT_EQ(cp["key_id"], keys->key_id);

  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
  EXPECT_EQ(report.checkpoints, 1u);
}

TEST(AuditLog, RecoveredRecordListsWhatWasCleanedAndVerifies) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit/audit.log");
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  RecoveredRecord rec;
  rec.state_dir = "/var/lib/latchkey/builder";
  rec.containers = {"latchkey-0123456789abcdef"};
  rec.mounts = {"/var/lib/latchkey/builder/secrets/0123456789abcdef/secret0"};
  rec.dirs = {"/var/lib/latchkey/builder/secrets/0123456789abcdef",
              "/var/lib/latchkey/builder/tmp/build-x"};
  ASSERT_TRUE((*log)->Append(rec).ok());
  ASSERT_TRUE((*log)->Checkpoint("recovered").ok());
  auto lines = Lines(ReadFile(path));
  ASSERT_EQ(lines.size(), 2u);
  auto j = nlohmann::ordered_json::parse(lines[0]);
  EXPECT_EQ(j["event"], "recovered");
  std::vector<std::string> keys_in_order;
  for (auto it = j.begin(); it != j.end(); ++it) keys_in_order.push_back(it.key());
  EXPECT_EQ(keys_in_order,
            (std::vector<std::string>{"v", "log", "seq", "time", "event", "state_dir", "containers",
                                      "mounts", "dirs", "prev"}));
  EXPECT_EQ(j["containers"], nlohmann::ordered_json::array({"latchkey-0123456789abcdef"}));
  EXPECT_EQ(j["dirs"].size(), 2u);
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
}

TEST(AuditLog, CheckpointIsNoOpRightAfterACheckpoint) {
  TempDir dir;
  auto keys = NewKeys();
  auto log = AuditLog::Open(QuickOptions(dir.Join("audit.log")), keys);
  ASSERT_TRUE(log.ok());
  AppendSession(**log, "s1");
  ASSERT_TRUE((*log)->Checkpoint().ok());
  EXPECT_EQ((*log)->stats().checkpoints, 1u);
  EXPECT_EQ(Lines(ReadFile(dir.Join("audit.log"))).size(), 4u);
}

TEST(AuditLog, CheckpointsEveryNRecords) {
  TempDir dir;
  auto keys = NewKeys();
  auto opts = QuickOptions(dir.Join("audit.log"));
  opts.checkpoint_every = 3;
  auto log = AuditLog::Open(opts, keys);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE((*log)->Append(SampleFetch("s", "x", FetchOutcome::kDenied)).ok());
  }
  EXPECT_EQ((*log)->stats().checkpoints, 2u);
  auto report = VerifyPath(dir.Join("audit.log"), keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_EQ(report.last_checkpoint_seq, 8u);  // 3 records, cp(4), 3 records, cp(8), 1 record
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0],
            "1 records after the last checkpoint (seq 8) are not covered by a signature");
}

TEST(AuditLog, ReopenContinuesTheChain) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  std::string id;
  {
    auto log = AuditLog::Open(QuickOptions(path), keys);
    ASSERT_TRUE(log.ok());
    AppendSession(**log, "s1");
    id = (*log)->log_id();
  }
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_id(), id);
  EXPECT_EQ((*log)->stats().last_seq, 4u);
  AppendSession(**log, "s2");
  EXPECT_EQ((*log)->stats().last_seq, 8u);
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_EQ(report.records, 8u);
}

TEST(AuditLog, ReopenDropsAnIncompleteLastLine) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  {
    auto log = AuditLog::Open(QuickOptions(path), keys);
    ASSERT_TRUE(log.ok());
    AppendSession(**log, "s1");
  }
  WriteFile(path, ReadFile(path) + "{\"v\":1,\"log\":\"half a reco");
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->stats().recovered_bytes, 25u);
  AppendSession(**log, "s2");
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
}

TEST(AuditLog, OpenRefusesADamagedLastRecord) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  WriteFile(path, "not a record\n");
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().ToString(),
            "FAILED_PRECONDITION: opening audit log: audit log " + path +
                ": the last record is not a valid audit record; run `latchkey audit verify " +
                path + "` and move the damaged file aside");
}

TEST(AuditLog, GrantedFetchNeedsAValue) {
  TempDir dir;
  auto log = AuditLog::Open(QuickOptions(dir.Join("audit.log")), NewKeys());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(
      (*log)->AppendFetch(SampleFetch("s", "npmrc", FetchOutcome::kGranted), nullptr).ToString(),
      "INVALID_ARGUMENT: audit record for secret npmrc is granted but no value was given "
      "to fingerprint");
  EXPECT_EQ((*log)->Append(SampleFetch("s", "npmrc", FetchOutcome::kGranted)).ToString(),
            "INVALID_ARGUMENT: audit record for secret npmrc is granted but carries no "
            "value_hmac; use AppendFetch");
}

TEST(AuditLog, CanaryValueNeverReachesTheFile) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  const std::string canary = "lk-canary-7f3a9c2e51d04b88";
  auto value = Secret(canary);
  ASSERT_TRUE(value.ok());
  std::string hmac = ValueHmac(keys->hmac_key, value->bytes());
  {
    auto log = AuditLog::Open(QuickOptions(path), keys);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
    auto fetch = SampleFetch("s1", "token", FetchOutcome::kGranted);
    // A careless caller left the value in the instruction text and the reference.
    fetch.step.instruction = "RUN echo " + canary + " | login";
    fetch.reference = "env:" + canary;
    ASSERT_TRUE((*log)->AppendFetch(fetch, &*value).ok());
    ASSERT_TRUE((*log)->Append(SampleClose("s1")).ok());
    ASSERT_TRUE((*log)->Checkpoint("session.close").ok());
  }
  std::string content = ReadFile(path) + ReadFile(HeadPathFor(path));
  auto bytes = value->bytes();
  EXPECT_EQ(content.find(canary), std::string::npos);
  EXPECT_EQ(content.find(HexEncode(bytes)), std::string::npos);
  EXPECT_EQ(content.find(Base64Encode(bytes)), std::string::npos);
  EXPECT_NE(content.find("RUN echo [masked] | login"), std::string::npos);
  EXPECT_NE(content.find("\"value_hmac\":\"" + hmac + "\""), std::string::npos);

  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  SearchFilter filter;
  filter.hmac = hmac;
  auto found = Search(*files, filter);
  ASSERT_EQ(found.lines.size(), 1u);
  EXPECT_NE(found.lines[0].find("\"secret\":\"token\""), std::string::npos);
}

// session.open is written before any fetch could mask a value, and a --label may carry one:
// label keys are written in clear, values only as HMACs keyed like value_hmac, and `search
// --hmac` of the value finds the session.
TEST(AuditLog, SessionOpenRecordsLabelValuesAsHmacs) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  const std::string canary = "lk-label-canary-4c9e21f7";
  auto value = Secret(canary);
  ASSERT_TRUE(value.ok());
  const std::string hmac = ValueHmac(keys->hmac_key, value->bytes());
  auto ci = Secret("true");
  ASSERT_TRUE(ci.ok());
  const std::string ci_hmac = ValueHmac(keys->hmac_key, ci->bytes());
  {
    auto log = AuditLog::Open(QuickOptions(path), keys);
    ASSERT_TRUE(log.ok());
    SessionOpenRecord open = SampleOpen("s1");
    open.labels["token"] = canary;
    ASSERT_TRUE((*log)->Append(open).ok());
  }
  std::vector<std::string> lines = Lines(ReadFile(path));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find(canary), std::string::npos) << lines[0];
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["event"], "session.open");
  EXPECT_FALSE(j.contains("labels"));
  EXPECT_EQ(j["label_hmacs"], nlohmann::json({{"ci", ci_hmac}, {"token", hmac}}));
  EXPECT_EQ(hmac.rfind("hmac-sha256:", 0), 0u);

  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  SearchFilter filter;
  filter.hmac = hmac;
  auto found = Search(*files, filter);
  ASSERT_EQ(found.lines.size(), 1u);
  EXPECT_EQ(found.lines[0], lines[0]);
}

// --- Fail-closed under injected faults -----------------------------------------------------

struct FaultCase {
  const char* name;
  int write_errno;
  bool partial;
  int sync_errno;
  const char* expected_cause;  // after "audit log unavailable: ", with <path> substituted
};

class AuditLogFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(AuditLogFault, FailsClosedThenRecovers) {
  const FaultCase& c = GetParam();
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto plan = std::make_shared<FaultPlan>();
  auto opts = QuickOptions(path);
  opts.fsync = FsyncMode::kGroup;
  opts.fs = std::make_shared<FaultEnv>(plan);
  auto ops = std::make_shared<OpLog>();
  opts.on_error = [ops](const std::string& m) { ops->Add(m); };
  auto log = AuditLog::Open(opts, keys);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
  {
    std::lock_guard<std::mutex> lk(plan->mu);
    plan->write_errno = c.write_errno;
    plan->partial_write = c.partial;
    plan->sync_errno = c.sync_errno;
  }
  auto value = Secret("fault-test-value");
  ASSERT_TRUE(value.ok());
  std::string cause = c.expected_cause;
  cause.replace(cause.find("<path>"), 6, path);
  Status st = (*log)->AppendFetch(SampleFetch("s1", "npmrc", FetchOutcome::kGranted), &*value);
  EXPECT_EQ(st.ToString(), "UNAVAILABLE: audit log unavailable: " + cause);
  {
    auto lines = ops->Get();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "audit log unavailable: " + cause +
                            "; secret fetches fail until the audit log can be written");
  }
  // Still failing while the fault lasts.
  EXPECT_EQ((*log)->Append(SampleClose("s1")).ToString(),
            "UNAVAILABLE: audit log unavailable: " + cause);
  // The fault goes away: the log re-reads its tail and carries on with a valid chain.
  plan->Clear();
  ASSERT_TRUE((*log)->Append(SampleClose("s1")).ok());
  ASSERT_TRUE((*log)->Checkpoint().ok());
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
}

INSTANTIATE_TEST_SUITE_P(
    Faults, AuditLogFault,
    ::testing::Values(
        FaultCase{"DiskFull", ENOSPC, false, 0, "writing <path>: No space left on device"},
        FaultCase{"DiskFullPartial", ENOSPC, true, 0, "writing <path>: No space left on device"},
        FaultCase{"PermissionDenied", EACCES, false, 0, "writing <path>: Permission denied"},
        FaultCase{"WriteIoError", EIO, true, 0, "writing <path>: Input/output error"},
        FaultCase{"SyncIoError", 0, false, EIO, "syncing <path>: Input/output error"},
        FaultCase{"SyncDiskFull", 0, false, ENOSPC, "syncing <path>: No space left on device"}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return info.param.name; });

TEST(AuditLog, HungWriteTimesOutAndFailsClosed) {
  TempDir dir;
  auto keys = NewKeys();
  auto plan = std::make_shared<FaultPlan>();
  auto opts = QuickOptions(dir.Join("audit.log"));
  opts.fs = std::make_shared<FaultEnv>(plan);
  opts.write_timeout = std::chrono::milliseconds(200);
  auto ops = std::make_shared<OpLog>();
  opts.on_error = [ops](const std::string& m) { ops->Add(m); };
  auto log = AuditLog::Open(opts, keys);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
  {
    std::lock_guard<std::mutex> lk(plan->mu);
    plan->hang_write = true;
  }
  const std::string timed_out = "UNAVAILABLE: audit log unavailable: write timed out after 200 ms";
  auto value = Secret("hang-test-value");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(
      (*log)->AppendFetch(SampleFetch("s1", "npmrc", FetchOutcome::kGranted), &*value).ToString(),
      timed_out);
  // The writer is still stuck, yet later appends fail at once instead of queueing behind it.
  EXPECT_EQ(plan->Hanging(), 1);
  EXPECT_EQ((*log)->Append(SampleClose("s1")).ToString(), timed_out);
  EXPECT_EQ((*log)->Checkpoint().ToString(), timed_out);
  {
    auto lines = ops->Get();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0],
              "audit log unavailable: write timed out after 200 ms; the audit log stays failed "
              "(fail closed) until it is reopened");
  }
  plan->Release();
  // Still failed after the write came back: a timed-out log is not trusted again.
  EXPECT_EQ((*log)->Append(SampleClose("s1")).ToString(), timed_out);
}

TEST(AuditLog, HungSyncTimesOut) {
  TempDir dir;
  auto plan = std::make_shared<FaultPlan>();
  auto opts = QuickOptions(dir.Join("audit.log"));
  opts.fsync = FsyncMode::kGroup;
  opts.fs = std::make_shared<FaultEnv>(plan);
  opts.write_timeout = std::chrono::milliseconds(100);
  plan->hang_sync = true;
  auto log = AuditLog::Open(opts, NewKeys());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->Append(SampleOpen("s1")).ToString(),
            "UNAVAILABLE: audit log unavailable: write timed out after 100 ms");
  plan->Release();
}

// A real full filesystem: a 16 KiB tmpfs.
TEST(AuditLog, RealDiskFullFailsClosed) {
  TempDir dir;
  std::string mnt = dir.Join("small");
  std::filesystem::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=16k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << base::ErrnoText(errno);
  }
  auto keys = NewKeys();
  std::string path = mnt + "/audit.log";
  Status last;
  int appended = 0;
  {
    auto opts = QuickOptions(path);
    opts.fsync = FsyncMode::kGroup;
    opts.write_head = false;
    opts.max_bytes = 0;
    auto log = AuditLog::Open(opts, keys);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 1000; ++i) {
      last = (*log)->Append(SampleFetch("s1", "npmrc", FetchOutcome::kDenied));
      if (!last.ok()) break;
      ++appended;
    }
  }
  EXPECT_GT(appended, 0);
  EXPECT_EQ(last.ToString(),
            "UNAVAILABLE: audit log unavailable: writing " + path + ": No space left on device");
  // What did reach the disk is a valid chain once reopened (the torn last line is dropped).
  {
    auto opts = QuickOptions(path);
    opts.write_head = false;
    auto log = AuditLog::Open(opts, keys);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
  }
  auto report = VerifyPath(path, keys->public_key, /*use_head=*/false);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_EQ(report.records, static_cast<uint64_t>(appended));
  ASSERT_EQ(::umount(mnt.c_str()), 0);
}

// A real read-only filesystem: a read-only bind mount over the log directory.
TEST(AuditLog, RealReadOnlyDirectoryFailsOpen) {
  TempDir dir;
  std::string logs = dir.Join("logs");
  std::filesystem::create_directories(logs);
  if (::mount(logs.c_str(), logs.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "cannot bind-mount here: " << base::ErrnoText(errno);
  }
  if (::mount(nullptr, logs.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    ::umount(logs.c_str());
    GTEST_SKIP() << "cannot remount read-only: " << base::ErrnoText(errno);
  }
  std::string path = logs + "/audit.log";
  auto log = AuditLog::Open(QuickOptions(path), NewKeys());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().ToString(),
            "UNAVAILABLE: opening audit log: opening " + path + ".lock: Read-only file system");
  ASSERT_EQ(::umount(logs.c_str()), 0);
}

// --- Concurrency and group commit ----------------------------------------------------------

TEST(AuditLog, ConcurrentAppendersAllLandInOneValidChain) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto plan = std::make_shared<FaultPlan>();
  auto opts = QuickOptions(path);
  opts.fsync = FsyncMode::kGroup;
  opts.fs = std::make_shared<FaultEnv>(plan);
  plan->path_filter = opts.path;  // the log's writes and syncs, not the head file's
  opts.checkpoint_every = 50;
  auto log = AuditLog::Open(opts, keys);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = SampleFetch("s" + std::to_string(t), "secret-" + std::to_string(i),
                             FetchOutcome::kNotFound);
        if (!(*log)->Append(r).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto stats = (*log)->stats();
  EXPECT_EQ(stats.records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(static_cast<uint64_t>(plan->Syncs()), stats.syncs);
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_EQ(report.records, stats.records + stats.checkpoints);
  // Every (session, secret) pair is present exactly once.
  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  for (int t = 0; t < kThreads; ++t) {
    SearchFilter f;
    f.session = "s" + std::to_string(t);
    EXPECT_EQ(Search(*files, f).lines.size(), static_cast<size_t>(kPerThread));
  }
}

// Two AuditLog objects on one file stand for two processes (each `latchkey build` opens its
// own): interleaved appends, checkpoints and rotations still form one valid chain, because each
// batch runs under the log's lock file and continues from the other writer's last record.
TEST(AuditLog, TwoWritersOnOneFileKeepOneValidChain) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto opts = QuickOptions(path);
  opts.checkpoint_every = 7;
  opts.max_bytes = 16 * 1024;
  opts.max_files = 100;
  auto a = AuditLog::Open(opts, keys);
  auto b = AuditLog::Open(opts, keys);
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr int kPerWriter = 150;
  std::atomic<int> failures{0};
  auto run = [&](AuditLog& log, const std::string& session) {
    for (int i = 0; i < kPerWriter; ++i) {
      auto r = SampleFetch(session, "secret-" + std::to_string(i), FetchOutcome::kNotFound);
      if (!log.Append(r).ok()) ++failures;
      if (i % 20 == 0 && !log.Checkpoint("explicit").ok()) ++failures;
    }
  };
  std::thread ta(run, std::ref(**a), "a");
  std::thread tb(run, std::ref(**b), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT((*a)->stats().rotations + (*b)->stats().rotations, 0u);
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  for (const char* session : {"a", "b"}) {
    SearchFilter f;
    f.session = session;
    EXPECT_EQ(Search(*files, f).lines.size(), static_cast<size_t>(kPerWriter)) << session;
  }
}

// A log opened while another process appends: Open reads the chain state under the log's lock,
// so the other writer's record lands either before (and Open continues after it) or after (and
// the first batch reads it back); never two records with one seq.
TEST(AuditLog, OpenWhileAnotherWriterAppendsKeepsOneChain) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto a = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Append(SampleOpen("a")).ok());
  auto plan = std::make_shared<FaultPlan>();
  std::thread other;
  bool started = false;
  // Between Open's reading of the tail and its looking at the file, `a` appends; without the
  // lock it would finish within the wait, with the lock it waits for Open.
  plan->after_read_tail = [&](const std::string& p) {
    if (p != path || started) return;
    started = true;
    std::atomic<bool> done{false};
    other = std::thread([&a, &done] {
      EXPECT_TRUE((*a)->Append(SampleOpen("a2")).ok());
      done = true;
    });
    for (int i = 0; i < 50 && !done; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  auto opts = QuickOptions(path);
  opts.fs = std::make_shared<FaultEnv>(plan);
  auto b = AuditLog::Open(opts, keys);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_TRUE((*b)->Append(SampleOpen("b")).ok());
  other.join();
  ASSERT_TRUE((*a)->Append(SampleOpen("a3")).ok());
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_EQ(Lines(ReadFile(path)).size(), 4u);
}

// Holds the writer in its first write until `waiting` more appends are queued behind it, so the
// batching is deterministic: returns the number of syncs the log made for 1 + waiting appends.
int SyncsForHeldBatch(FsyncMode mode, int waiting) {
  TempDir dir;
  auto plan = std::make_shared<FaultPlan>();
  auto opts = QuickOptions(dir.Join("audit.log"));
  opts.fsync = mode;
  opts.fs = std::make_shared<FaultEnv>(plan);
  plan->path_filter = opts.path;  // the log's writes and syncs, not the head file's
  opts.checkpoint_every = 0;
  auto log = AuditLog::Open(opts, NewKeys());
  if (!log.ok()) return -1;
  plan->hang_write = true;
  std::vector<std::thread> threads;
  threads.emplace_back([&] { (void)(*log)->Append(SampleOpen("first")); });
  while (plan->Hanging() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < waiting; ++i) {
    threads.emplace_back([&] { (void)(*log)->Append(SampleOpen("later")); });
  }
  while ((*log)->queued() < static_cast<size_t>(waiting)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  plan->Release();
  for (auto& t : threads) t.join();
  if ((*log)->stats().records != static_cast<uint64_t>(waiting + 1)) return -2;
  return plan->Syncs();
}

TEST(AuditLog, GroupCommitSyncsOncePerBatch) {
  EXPECT_EQ(SyncsForHeldBatch(FsyncMode::kGroup, 7), 2);  // {first}, {7 waiting}
}

TEST(AuditLog, PerRecordModeSyncsEveryRecord) {
  EXPECT_EQ(SyncsForHeldBatch(FsyncMode::kPerRecord, 7), 8);
}

TEST(AuditLog, NoneModeNeverSyncs) { EXPECT_EQ(SyncsForHeldBatch(FsyncMode::kNone, 3), 0); }

// --- Rotation --------------------------------------------------------------------------------

TEST(AuditLog, RotatesBySizeAndTheSetVerifiesAsOneChain) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto opts = QuickOptions(path);
  opts.max_bytes = 4096;
  opts.max_files = 50;
  {
    auto log = AuditLog::Open(opts, keys);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 20; ++i) AppendSession(**log, "s" + std::to_string(i));
    EXPECT_GE((*log)->stats().rotations, 3u);
  }
  auto set = ExistingRotatedSet(path);
  ASSERT_GE(set.size(), 4u);
  EXPECT_EQ(set.back(), path);
  // Each rotated file ends with a checkpoint.
  for (size_t i = 0; i + 1 < set.size(); ++i) {
    auto lines = Lines(ReadFile(set[i]));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find("\"event\":\"audit.checkpoint\""), std::string::npos) << set[i];
  }
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.files, set.size());
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
  // Reopening right after a rotation (empty live file) continues from <path>.1.
  auto log = AuditLog::Open(opts, keys);
  ASSERT_TRUE(log.ok());
  uint64_t last = (*log)->stats().last_seq;
  AppendSession(**log, "after");
  EXPECT_EQ((*log)->stats().last_seq, last + 4);
  report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
}

TEST(AuditLog, RotationKeepsMaxFiles) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto opts = QuickOptions(path);
  opts.max_bytes = 2048;
  opts.max_files = 2;
  auto log = AuditLog::Open(opts, keys);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 20; ++i) AppendSession(**log, "s" + std::to_string(i));
  EXPECT_TRUE(std::filesystem::exists(path + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  auto report = VerifyPath(path, keys->public_key);
  EXPECT_TRUE(report.ok) << report.failure;
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_EQ(report.warnings[0],
            "the chain starts at seq " + std::to_string(report.first_seq) + ": records 1-" +
                std::to_string(report.first_seq - 1) +
                " are not in the given files (rotated away, or removed); the first record's "
                "link is not checked");
}

TEST(AuditLog, OptionsAreValidated) {
  TempDir dir;
  auto opts = QuickOptions(dir.Join("audit.log"));
  opts.write_timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(AuditLog::Open(opts, NewKeys()).status().ToString(),
            "INVALID_ARGUMENT: audit log write timeout must be positive, got 0 ms");
  opts = QuickOptions(dir.Join("audit.log"));
  opts.max_files = 0;
  EXPECT_EQ(AuditLog::Open(opts, NewKeys()).status().ToString(),
            "INVALID_ARGUMENT: audit log max_files must be at least 1, got 0");
  EXPECT_EQ(ParseFsyncMode("sometimes").status().ToString(),
            "INVALID_ARGUMENT: invalid audit fsync mode \"sometimes\": expected per_record, "
            "group or none");
  EXPECT_EQ(*ParseFsyncMode("per_record"), FsyncMode::kPerRecord);
}

// The messages docs/audit-log.md gives for a log that Open refuses.
bool IsDocumentedOpenFailure(const Status& st, const std::string& path) {
  const std::string prefix = "FAILED_PRECONDITION: opening audit log: audit log " + path;
  const std::string verify = "; run `latchkey audit verify " + path + "`";
  return st.ToString() == prefix + ": the last record is not a valid audit record" + verify +
                              " and move the damaged file aside" ||
         st.ToString() == prefix + ": the last record is longer than 1048576 bytes" + verify +
                              " and move the damaged file aside";
}

// Ninja's habit: write a real log, then reopen every prefix of it. Each prefix is what a crash
// (or a truncating attacker) can leave. Open must recover it (dropping an incomplete last line)
// or refuse it with a documented message; the recovered chain state must be the one the
// verifier reads from the same bytes; and appending after recovery must give a log that
// verifies.
TEST(AuditLog, TruncationSweep) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto plan = std::make_shared<FaultPlan>();
  plan->skip_fsync = true;
  auto fs = std::make_shared<FaultEnv>(plan);
  auto options = [&] {
    AuditOptions o = QuickOptions(path);
    o.fs = fs;
    o.checkpoint_every = 2;
    o.log_id = "sweep";
    return o;
  };
  {
    auto log = AuditLog::Open(options(), keys);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    AppendSession(**log, "s1");
    ASSERT_TRUE((*log)->Append(SampleOpen("s2")).ok());
  }
  const std::string full = ReadFile(path);
  const std::vector<std::string> lines = Lines(full);
  // open, fetch, interval checkpoint, close, session.close checkpoint, open.
  ASSERT_EQ(lines.size(), 6u);
  ASSERT_GT(full.size(), 1500u) << full.size();
  ASSERT_LT(full.size(), 3000u) << full.size();
  // Each incomplete prefix logs a recovery warning: keep the test's output readable.
  const spdlog::level::level_enum saved_level = spdlog::get_level();
  spdlog::set_level(spdlog::level::err);

  size_t recovered_opens = 0, refused_opens = 0, incomplete = 0;
  for (size_t len = 0; len <= full.size(); ++len) {
    SCOPED_TRACE("prefix length " + std::to_string(len));
    const std::string prefix = full.substr(0, len);
    const size_t complete_bytes =
        prefix.rfind('\n') == std::string::npos ? 0 : prefix.rfind('\n') + 1;
    const uint64_t complete_lines = Lines(prefix.substr(0, complete_bytes)).size();
    WriteFile(path, prefix);
    ASSERT_TRUE(fs->Remove(HeadPathFor(path)).ok());

    // The verifier's verdict on the prefix alone.
    VerifyReport before = VerifyPath(path, keys->public_key, /*use_head=*/false);
    if (len == 0) {
      EXPECT_EQ(before.failure, "no audit records in the given files");
    } else if (complete_bytes < len) {
      ++incomplete;
      EXPECT_FALSE(before.ok);
      EXPECT_EQ(before.failure, path + ":" + std::to_string(complete_lines + 1) +
                                    ": incomplete record at end of file (no trailing newline): "
                                    "the file was truncated mid-record or a write was "
                                    "interrupted");
    } else {
      EXPECT_TRUE(before.ok) << before.failure;
      EXPECT_EQ(before.last_seq, complete_lines);
    }

    auto log = AuditLog::Open(options(), keys);
    if (!log.ok()) {
      ++refused_opens;
      EXPECT_TRUE(IsDocumentedOpenFailure(log.status(), path)) << log.status().ToString();
      EXPECT_FALSE(before.ok) << "recovery refused a prefix the verifier accepts";
      continue;
    }
    ++recovered_opens;
    // Recovery continues exactly after the last complete line, as the verifier read it.
    AuditLog::Stats st = (*log)->stats();
    EXPECT_EQ(st.recovered_bytes, len - complete_bytes);
    EXPECT_EQ(st.last_seq, complete_lines);
    EXPECT_EQ(st.head,
              complete_lines == 0 ? GenesisHash("sweep") : Sha256Tagged(lines[complete_lines - 1]));
    EXPECT_EQ(ReadFile(path), full.substr(0, complete_bytes));
    EXPECT_EQ((*log)->log_id(), "sweep");

    ASSERT_TRUE((*log)->Append(SampleClose("s2")).ok());
    ASSERT_TRUE((*log)->Checkpoint().ok());
    log->reset();
    VerifyReport after = VerifyPath(path, keys->public_key);
    EXPECT_TRUE(after.ok) << after.failure;
    EXPECT_EQ(after.first_seq, 1u);
    EXPECT_EQ(after.last_seq, complete_lines + 2);
    EXPECT_EQ(after.log_id, "sweep");
  }
  spdlog::set_level(saved_level);
  // Every prefix of a log the writer wrote is recoverable; the sweep saw both kinds of prefix.
  EXPECT_EQ(refused_opens, 0u);
  EXPECT_EQ(recovered_opens, full.size() + 1);
  EXPECT_EQ(incomplete, full.size() - lines.size());
}

}  // namespace
}  // namespace latchkey::audit
