#include "broker/audit/audit_log.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/path.h"
#include "broker/audit/audit_format.h"
#include "broker/audit/chain.h"
#include "broker/audit/chain_state.h"
#include "broker/audit/paths.h"
#include "secure/secret_parts.h"

namespace latchkey::audit {

namespace {

Status Unavailable(const std::string& cause) {
  return UnavailableError("audit log unavailable: " + cause);
}

struct Request {
  bool checkpoint = false;
  AuditRecord record;
  std::string reason;
  bool done = false;  // guarded by Shared::mu
  Status result;      // written by the writer before `done`
};

// One line of a batch and the chain state after it.
struct Line {
  std::string text;
  uint64_t seq = 0;
  std::string hash;
  bool checkpoint = false;
  uint64_t since_checkpoint = 0;
};

}  // namespace

struct AuditLog::Shared {
  AuditOptions opts;
  std::shared_ptr<const AuditKeys> keys;
  std::string log_id;  // written by the writer under mu (same value on recovery)

  std::mutex mu;
  std::condition_variable work_cv;
  std::condition_variable done_cv;
  std::deque<std::shared_ptr<Request>> queue;  // guarded by mu
  Status sticky;                               // guarded by mu; set on a timeout
  bool stop = false;                           // guarded by mu
  Stats stats;                                 // guarded by mu

  // Writer-thread state (and Open's, before the thread starts).
  std::unique_ptr<AuditFile> file;
  uint64_t next_seq = 1;
  std::string prev;
  uint64_t since_checkpoint = 0;
  bool last_is_checkpoint = false;
  Status needs_recovery;  // non-OK: reload the chain state before the next batch
  // The live file as this process last left it. Other processes may append to the same log
  // (each under the log's lock file); a different identity at the start of a batch means the
  // chain state must be read back first.
  FileIdentity written;
};

namespace {

using Shared = AuditLog::Shared;

bool TimedOut(Shared& s) {
  std::lock_guard<std::mutex> lk(s.mu);
  return !s.sticky.ok();
}

void Emit(const Shared& s, const std::string& message) {
  if (s.opts.on_error) {
    s.opts.on_error(message);
  } else {
    spdlog::error("{}", message);
  }
}

// Reports from the writer thread; silent once a timeout has failed the log (the callers are
// gone, and the callback's owner may be too).
void Report(Shared& s, const std::string& message) {
  if (!TimedOut(s)) Emit(s, message);
}

std::string RandomLogId() {
  uint8_t id[16];
  randombytes_buf(id, sizeof id);
  return HexEncode(id);
}

// Reads the chain state back from the files (chain_state.h) and opens the live file for
// appending. `known_log_id` is kept for an empty log (recovery); otherwise opts.log_id or a
// random id.
Status ReloadChainState(Shared& s, const std::string& known_log_id) {
  const std::string& path = s.opts.path;
  LK_RETURN_IF_ERROR(s.opts.fs->CreateDirs(base::DirName(path)));
  std::string new_id = !known_log_id.empty()    ? known_log_id
                       : !s.opts.log_id.empty() ? s.opts.log_id
                                                : RandomLogId();
  uint64_t dropped = 0;
  Result<ChainState> state = LoadChainState(*s.opts.fs, path, new_id, &dropped);
  if (dropped != 0) {
    {
      std::lock_guard<std::mutex> lk(s.mu);
      s.stats.recovered_bytes += dropped;
    }
    spdlog::warn(
        "audit log {}: dropped an incomplete last record ({} bytes) left by an "
        "interrupted write; it was never acknowledged",
        path, dropped);
  }
  if (!state.ok()) return state.status();
  {
    std::lock_guard<std::mutex> lk(s.mu);
    s.log_id = state->log_id;
  }
  s.next_seq = state->next_seq;
  s.prev = state->prev;
  s.since_checkpoint = state->since_checkpoint;
  s.last_is_checkpoint = state->last_is_checkpoint;
  LK_ASSIGN_OR_RETURN(s.file, s.opts.fs->OpenAppend(path));
  auto id = s.opts.fs->Identify(path);
  s.written = id.ok() ? *id : FileIdentity{};
  std::lock_guard<std::mutex> lk(s.mu);
  s.stats.last_seq = s.next_seq - 1;
  s.stats.head = s.prev;
  return Status::OK();
}

Line MakeCheckpoint(const Shared& s, uint64_t seq, const std::string& prev, const std::string& time,
                    const std::string& reason) {
  Line line;
  line.text = SerializeCheckpoint(*s.keys, s.log_id, seq, time, reason, prev);
  line.seq = seq;
  line.hash = Sha256Tagged(line.text);
  line.checkpoint = true;
  line.since_checkpoint = 0;
  return line;
}

void Commit(Shared& s, const Line& line) {
  s.next_seq = line.seq + 1;
  s.prev = line.hash;
  s.last_is_checkpoint = line.checkpoint;
  s.since_checkpoint = line.since_checkpoint;
}

Status WriteHead(Shared& s, bool sync, const std::string& time) {
  if (!s.opts.write_head) return Status::OK();
  return base::WriteFileAtomic(*s.opts.fs, HeadPathFor(s.opts.path),
                               SerializeHead(s.log_id, s.next_seq - 1, s.prev, time) + "\n", 0600,
                               sync);
}

// Writes a rotation checkpoint, then shifts <path> to <path>.1 (and older files up by one).
Status Rotate(Shared& s, uint64_t* syncs, uint64_t* checkpoints) {
  if (!s.last_is_checkpoint) {
    std::string time = FormatRfc3339Ms(s.opts.clock());
    Line cp = MakeCheckpoint(s, s.next_seq, s.prev, time, "rotate");
    LK_RETURN_IF_ERROR(s.file->Append(cp.text + "\n"));
    if (s.opts.fsync != FsyncMode::kNone) {
      LK_RETURN_IF_ERROR(s.file->Sync());
      ++*syncs;
    }
    Commit(s, cp);
    ++*checkpoints;
    LK_RETURN_IF_ERROR(WriteHead(s, true, time));
  }
  LK_RETURN_IF_ERROR(s.file->Close());
  s.file.reset();
  const std::string& path = s.opts.path;
  LK_RETURN_IF_ERROR(s.opts.fs->Remove(RotatedPath(path, s.opts.max_files)));
  for (int n = s.opts.max_files - 1; n >= 1; --n) {
    if (s.opts.fs->Exists(RotatedPath(path, n))) {
      LK_RETURN_IF_ERROR(s.opts.fs->Rename(RotatedPath(path, n), RotatedPath(path, n + 1)));
    }
  }
  LK_RETURN_IF_ERROR(s.opts.fs->Rename(path, RotatedPath(path, 1)));
  LK_ASSIGN_OR_RETURN(s.file, s.opts.fs->OpenAppend(path));
  return Status::OK();
}

using Requests = std::vector<std::shared_ptr<Request>>;

void FailAll(const Requests& batch, const Status& st) {
  for (const auto& r : batch) r->result = st;
}

// The lines of one batch, and for request i the number of lines it needs durable.
struct SerializedBatch {
  std::vector<Line> lines;
  std::vector<size_t> request_end;
};

// What one batch did, for the stats.
struct BatchCounts {
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t syncs = 0;
  uint64_t rotations = 0;
};

// Phase 1. Other processes write to the same log: takes its lock (held for the whole batch;
// released when the returned handle goes) and continues from their last record when they wrote
// since our last batch, or from what is on disk after a failed batch. On failure reports it and
// returns the UNAVAILABLE status every request of the batch fails with.
Result<std::shared_ptr<void>> LockAndRecover(Shared& s) {
  auto lock = s.opts.fs->LockExclusive(s.opts.path + ".lock");
  if (!lock.ok()) {
    Status failed = Unavailable(lock.status().message());
    Report(s, failed.message());
    return failed;
  }
  if (s.needs_recovery.ok()) {
    auto id = s.opts.fs->Identify(s.opts.path);
    if (!id.ok() || !(*id == s.written))
      s.needs_recovery = Unavailable("written by another process");
  }
  if (!s.needs_recovery.ok()) {
    if (s.file) (void)s.file->Close();
    s.file.reset();
    Status st = ReloadChainState(s, s.log_id);
    if (!st.ok()) {
      Status failed = Unavailable(st.message());
      Report(s, failed.message());
      return failed;
    }
    s.needs_recovery = Status::OK();
  }
  return std::move(lock).value();
}

// Phase 2. Turns the requests into lines continuing the chain from s's state (which it does not
// change): an event record per Append, a checkpoint per Checkpoint unless the previous line is
// one, and an "interval" checkpoint every opts.checkpoint_every records.
SerializedBatch Serialize(const Shared& s, const Requests& batch, const std::string& time) {
  SerializedBatch out;
  out.request_end.resize(batch.size());
  uint64_t seq = s.next_seq;
  std::string prev = s.prev;
  uint64_t since = s.since_checkpoint;
  bool last_cp = s.last_is_checkpoint;
  auto add_checkpoint = [&](const std::string& reason) {
    out.lines.push_back(MakeCheckpoint(s, seq, prev, time, reason));
    ++seq;
    prev = out.lines.back().hash;
    since = 0;
    last_cp = true;
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    const Request& r = *batch[i];
    if (r.checkpoint) {
      if (!last_cp) add_checkpoint(r.reason);
    } else {
      Line line;
      line.text = SerializeRecord(s.log_id, seq, time, r.record, prev);
      line.seq = seq++;
      line.hash = Sha256Tagged(line.text);
      line.since_checkpoint = ++since;
      prev = line.hash;
      last_cp = false;
      out.lines.push_back(std::move(line));
      if (s.opts.checkpoint_every != 0 && since >= s.opts.checkpoint_every) {
        add_checkpoint("interval");
      }
    }
    out.request_end[i] = out.lines.size();
  }
  return out;
}

// Phase 3. Writes `lines` in the configured fsync mode: per record (write + sync each), or one
// write and at most one sync. Sets *durable to the number of leading lines known durable and
// counts the syncs; returns the first write or sync error.
Status WriteBatch(Shared& s, const std::vector<Line>& lines, size_t* durable, BatchCounts* counts) {
  *durable = 0;
  Status st;
  if (s.opts.fsync == FsyncMode::kPerRecord) {
    for (const Line& line : lines) {
      st = s.file->Append(line.text + "\n");
      if (st.ok()) {
        st = s.file->Sync();
        ++counts->syncs;
      }
      if (!st.ok()) break;
      ++*durable;
    }
  } else if (!lines.empty()) {
    std::string buf;
    for (const Line& line : lines) {
      buf += line.text;
      buf += '\n';
    }
    st = s.file->Append(buf);
    if (st.ok() && s.opts.fsync == FsyncMode::kGroup) {
      st = s.file->Sync();
      ++counts->syncs;
    }
    if (st.ok()) *durable = lines.size();
  }
  return st;
}

// Phase 4. Advances the chain state over the durable lines, marks the log for recovery after a
// write error, updates the head file (when anything became durable), and answers each request:
// OK when all its lines are durable and the head file was written, the failure otherwise (fail
// closed).
void CommitDurable(Shared& s, const Requests& batch, const SerializedBatch& lines, size_t durable,
                   const Status& write_status, const std::string& time, BatchCounts* counts) {
  for (size_t i = 0; i < durable; ++i) {
    Commit(s, lines.lines[i]);
    if (lines.lines[i].checkpoint) {
      ++counts->checkpoints;
    } else {
      ++counts->records;
    }
  }
  Status failed;
  if (!write_status.ok()) {
    failed = Unavailable(write_status.message());
    s.needs_recovery = failed;
    Report(s, failed.message() + "; secret fetches fail until the audit log can be written");
  }
  if (durable > 0) {
    bool had_checkpoint = false;
    for (size_t i = 0; i < durable; ++i) had_checkpoint |= lines.lines[i].checkpoint;
    Status head = WriteHead(s, had_checkpoint, time);
    if (!head.ok()) {
      Status hf = Unavailable(head.message());
      Report(s, hf.message());
      durable = 0;  // fail closed: every request of this batch fails
      if (failed.ok()) failed = hf;
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result = lines.request_end[i] <= durable ? Status::OK() : failed;
  }
}

// Phase 5. Rotates once the live file reached opts.max_bytes (and the log is healthy); a
// failed rotation marks the log for recovery. The batch's answers are not changed.
void MaybeRotate(Shared& s, BatchCounts* counts) {
  if (!s.needs_recovery.ok() || s.opts.max_bytes == 0 || !s.file ||
      s.file->Size() < s.opts.max_bytes) {
    return;
  }
  Status rs = Rotate(s, &counts->syncs, &counts->checkpoints);
  if (rs.ok()) {
    counts->rotations = 1;
  } else {
    s.needs_recovery = Unavailable(rs.message());
    Report(s, s.needs_recovery.message() + " (while rotating)");
  }
}

void PublishStats(Shared& s, const BatchCounts& counts) {
  std::lock_guard<std::mutex> lk(s.mu);
  s.stats.records += counts.records;
  s.stats.checkpoints += counts.checkpoints;
  s.stats.batches += 1;
  s.stats.syncs += counts.syncs;
  s.stats.rotations += counts.rotations;
  s.stats.last_seq = s.next_seq - 1;
  s.stats.head = s.prev;
}

// Runs one batch on the writer thread and sets every request's result.
void ProcessBatch(Shared& s, const Requests& batch) {
  auto lock = LockAndRecover(s);
  if (!lock.ok()) {
    FailAll(batch, lock.status());
    return;
  }
  const std::string time = FormatRfc3339Ms(s.opts.clock());
  SerializedBatch lines = Serialize(s, batch, time);
  BatchCounts counts;
  size_t durable = 0;
  Status written = WriteBatch(s, lines.lines, &durable, &counts);
  if (TimedOut(s)) return;  // the callers were failed already; touch nothing more
  CommitDurable(s, batch, lines, durable, written, time, &counts);
  MaybeRotate(s, &counts);
  if (auto id = s.opts.fs->Identify(s.opts.path); id.ok()) s.written = *id;
  PublishStats(s, counts);
}

void WriterLoop(std::shared_ptr<Shared> s) {
  for (;;) {
    std::vector<std::shared_ptr<Request>> batch;
    {
      std::unique_lock<std::mutex> lk(s->mu);
      s->work_cv.wait(lk, [&] { return s->stop || !s->queue.empty() || !s->sticky.ok(); });
      if (!s->sticky.ok()) return;
      if (s->queue.empty()) return;  // stop requested and drained
      batch.assign(s->queue.begin(), s->queue.end());
      s->queue.clear();
    }
    ProcessBatch(*s, batch);
    {
      std::lock_guard<std::mutex> lk(s->mu);
      for (const auto& r : batch) r->done = true;
    }
    s->done_cv.notify_all();
  }
}

}  // namespace

Result<FsyncMode> ParseFsyncMode(const std::string& text) {
  if (text == "per_record") return FsyncMode::kPerRecord;
  if (text == "group") return FsyncMode::kGroup;
  if (text == "none") return FsyncMode::kNone;
  return InvalidArgumentError("invalid audit fsync mode \"" + text +
                              "\": expected per_record, group or none");
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(AuditOptions options,
                                                 std::shared_ptr<const AuditKeys> keys) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  if (options.path.empty()) return InvalidArgumentError("audit log path is empty");
  if (!keys || keys->signing_key.size() != crypto_sign_SECRETKEYBYTES ||
      keys->hmac_key.size() != crypto_auth_hmacsha256_KEYBYTES) {
    return InvalidArgumentError("audit log " + options.path + ": audit keys are missing");
  }
  if (options.write_timeout.count() <= 0) {
    return InvalidArgumentError("audit log write timeout must be positive, got " +
                                std::to_string(options.write_timeout.count()) + " ms");
  }
  if (options.max_files < 1) {
    return InvalidArgumentError("audit log max_files must be at least 1, got " +
                                std::to_string(options.max_files));
  }
  if (!options.fs) options.fs = PosixAuditFs();
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  auto shared = std::make_shared<Shared>();
  shared->opts = std::move(options);
  shared->keys = std::move(keys);
  {
    // Under the log's lock, like every batch: another process may be appending (or be between
    // its write and the head file), and its record must be either wholly before the state read
    // here or after it, never half-read and truncated as "incomplete".
    LK_RETURN_IF_ERROR(shared->opts.fs->CreateDirs(base::DirName(shared->opts.path))
                           .WithPrefix("opening audit log"));
    auto lock = shared->opts.fs->LockExclusive(shared->opts.path + ".lock");
    if (!lock.ok()) return lock.status().WithPrefix("opening audit log");
    Status st = ReloadChainState(*shared, "");
    if (!st.ok()) return st.WithPrefix("opening audit log");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(shared));
  log->writer_ = std::thread(WriterLoop, std::move(shared));
  return log;
}

AuditLog::AuditLog(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

AuditLog::~AuditLog() {
  bool hung;
  {
    std::lock_guard<std::mutex> lk(shared_->mu);
    shared_->stop = true;
    hung = !shared_->sticky.ok();
  }
  shared_->work_cv.notify_all();
  if (!writer_.joinable()) return;
  if (hung) {
    writer_.detach();  // it holds its own reference to the shared state
  } else {
    writer_.join();
  }
}

Status AuditLog::Submit(AuditRecord record, bool checkpoint, std::string reason) {
  auto req = std::make_shared<Request>();
  req->checkpoint = checkpoint;
  req->record = std::move(record);
  req->reason = std::move(reason);
  Shared& s = *shared_;
  std::unique_lock<std::mutex> lk(s.mu);
  if (!s.sticky.ok()) return s.sticky;
  s.queue.push_back(req);
  s.work_cv.notify_one();
  auto deadline = std::chrono::steady_clock::now() + s.opts.write_timeout;
  bool finished = s.done_cv.wait_until(lk, deadline, [&] { return req->done || !s.sticky.ok(); });
  if (req->done) return req->result;
  if (finished) return s.sticky;  // another caller timed out first
  s.sticky =
      Unavailable("write timed out after " + std::to_string(s.opts.write_timeout.count()) + " ms");
  for (const auto& q : s.queue) {
    q->result = s.sticky;
    q->done = true;
  }
  s.queue.clear();
  Status failed = s.sticky;
  lk.unlock();
  s.done_cv.notify_all();
  s.work_cv.notify_all();
  Emit(s, failed.message() + "; the audit log stays failed (fail closed) until it is reopened");
  return failed;
}

Status AuditLog::Append(AuditRecord record) {
  if (const auto* f = std::get_if<SecretFetchRecord>(&record)) {
    if (f->outcome == FetchOutcome::kGranted && f->value_hmac.empty()) {
      return InvalidArgumentError("audit record for secret " + f->secret +
                                  " is granted but carries no value_hmac; use AppendFetch");
    }
  }
  if (auto* open = std::get_if<SessionOpenRecord>(&record)) {
    // A label value may carry a secret (it is recorded before any fetch could mask it): only
    // its HMAC is written, keyed like value_hmac.
    for (const auto& [key, value] : open->labels) {
      open->label_hmacs[key] = ValueHmac(
          shared_->keys->hmac_key,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
    }
    open->labels.clear();
  }
  return Submit(std::move(record), false, "");
}

Status AuditLog::AppendFetch(SecretFetchRecord record, const SecretBuffer* value) {
  if (record.outcome == FetchOutcome::kGranted) {
    if (value == nullptr) {
      return InvalidArgumentError("audit record for secret " + record.secret +
                                  " is granted but no value was given to fingerprint");
    }
    record.value_hmac = ValueHmac(shared_->keys->hmac_key, value->bytes());
    LK_ASSIGN_OR_RETURN(std::vector<SecretPart> parts, DeriveSecretParts(value->bytes()));
    for (const auto& part : parts) {
      record.part_hmacs.push_back(ValueHmac(shared_->keys->hmac_key, part.value.bytes()));
    }
  }
  AuditRecord r = std::move(record);
  if (value != nullptr) MaskValue(&r, value->bytes());
  return Submit(std::move(r), false, "");
}

Status AuditLog::Checkpoint(const std::string& reason) { return Submit({}, true, reason); }

AuditLog::Stats AuditLog::stats() const {
  std::lock_guard<std::mutex> lk(shared_->mu);
  return shared_->stats;
}

size_t AuditLog::queued() const {
  std::lock_guard<std::mutex> lk(shared_->mu);
  return shared_->queue.size();
}

std::string AuditLog::log_id() const {
  std::lock_guard<std::mutex> lk(shared_->mu);
  return shared_->log_id;
}

}  // namespace latchkey::audit
