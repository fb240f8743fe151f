// AuditLog: the durable, hash-chained, signed, fail-closed audit log writer.
//
// Append() returns OK only after the record's line has been written and (in the default
// FsyncMode::kGroup) fdatasync'd; a caller releases a secret value only after that. Appends from
// many threads are batched by one writer thread: it takes everything queued, writes it with a
// single write(2) and a single fdatasync (group commit), then wakes the callers.
//
// Failure model (docs/audit-log.md, "Failure behaviour"):
// - A write or sync error fails every Append of that batch with UNAVAILABLE
//   "audit log unavailable: <cause>", reports it through `on_error`, and makes the next batch
//   first re-read the file's tail (dropping a partly written last line) to rebuild the chain
//   state. The log recovers by itself once the cause goes away.
// - A write or sync that takes longer than `write_timeout` fails the waiting Appends with
//   "audit log unavailable: write timed out after <ms> ms" and puts the log into a failed state:
//   every later Append fails with the same status at once, until a new AuditLog is opened.
//   The hung writer thread is left behind (detached) and never blocks a caller again.
//
// Thread-safety: Append, AppendFetch, Checkpoint and stats may be called from any thread.
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_LOG_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_LOG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "broker/audit/audit_file.h"
#include "broker/audit/audit_format.h"  // SerializeRecord, used by callers of this header
#include "broker/audit/audit_keys.h"
#include "broker/audit/audit_record.h"
#include "broker/audit/audit_time.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::audit {

enum class FsyncMode {
  kPerRecord,  // one write + fdatasync per record
  kGroup,      // one write + fdatasync per batch of concurrent appends (default)
  kNone,       // no fdatasync at all: NOT durable; for tests and benchmarks only
};

// Parses "per_record", "group", "none"; INVALID_ARGUMENT otherwise.
Result<FsyncMode> ParseFsyncMode(const std::string& text);

struct AuditOptions {
  std::string path;  // the live log file, e.g. DefaultLogPath(state_dir)
  FsyncMode fsync = FsyncMode::kGroup;
  std::chrono::milliseconds write_timeout{5000};
  uint64_t checkpoint_every = 1000;       // records between checkpoints; 0: explicit/rotation only
  uint64_t max_bytes = 64 * 1024 * 1024;  // rotate when the file reaches this size; 0: never
  int max_files = 10;                     // rotated files kept (<path>.1 .. <path>.<max_files>)
  bool write_head = true;                 // keep HeadPathFor(path) up to date
  std::string log_id;                     // id for a NEW log; empty: random. Ignored when the
                                          // log exists (its id is read back).
  std::shared_ptr<AuditFs> fs;            // default PosixAuditFs()
  std::function<TimePoint()> clock;       // default std::chrono::system_clock::now
  // Receives operational error lines ("audit log unavailable: ..."); default spdlog::error.
  // Called from the writer thread and from Append; never after a write timeout has failed the
  // log, so it need only outlive the AuditLog object.
  std::function<void(const std::string&)> on_error;
};

class AuditLog {
 public:
  struct Stats {
    uint64_t records = 0;      // event records written by this object (checkpoints excluded)
    uint64_t checkpoints = 0;  // checkpoints written by this object
    uint64_t batches = 0;      // write batches
    uint64_t syncs = 0;        // fdatasync calls on the log file
    uint64_t rotations = 0;
    uint64_t last_seq = 0;         // seq of the last durable record (0: empty log)
    std::string head;              // hash of the last durable record (the chain head)
    uint64_t recovered_bytes = 0;  // bytes of an incomplete last line dropped on open/recovery
  };

  // Opens (creating directories and the file as needed) the log at options.path and continues
  // its chain: the last record's seq and hash are read back from the live file, or from
  // <path>.1 when the live file is empty. An incomplete last line (a crash mid-write; never
  // acknowledged) is truncated and counted in stats().recovered_bytes. Fails with
  // FAILED_PRECONDITION when the last record cannot be parsed, UNAVAILABLE on I/O errors.
  static Result<std::unique_ptr<AuditLog>> Open(AuditOptions options,
                                                std::shared_ptr<const AuditKeys> keys);

  // Stops the writer thread after it drains the queue. Writes nothing by itself (the session
  // close calls Checkpoint()). If the writer is hung, it is detached instead of joined.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `record` durably (see the class comment). A granted SecretFetchRecord must carry a
  // value_hmac (use AppendFetch); INVALID_ARGUMENT otherwise. A SessionOpenRecord's label
  // values are replaced by their HMACs with the log's HMAC key (label_hmacs); the values
  // themselves are never written.
  Status Append(AuditRecord record);

  // Appends a fetch record. For a granted fetch, `value` (required) is fingerprinted into
  // value_hmac with the log's HMAC key, and any occurrence of it in the record's text fields is
  // replaced by "[masked]". The value itself is never written.
  Status AppendFetch(SecretFetchRecord record, const SecretBuffer* value);

  // Writes a signed audit.checkpoint covering every record so far, durably. A no-op (OK) when
  // the last record already is a checkpoint. `reason` is recorded ("session.close",
  // "explicit").
  Status Checkpoint(const std::string& reason = "explicit");

  Stats stats() const;
  // Appends and checkpoints waiting for the writer thread (not yet taken into a batch).
  size_t queued() const;
  // The log id (stable across rotations and restarts).
  std::string log_id() const;

  // Implementation detail: the state shared with the writer thread (audit_log.cc). Declared
  // public only so that audit_log.cc's file-local phase functions can name it.
  struct Shared;

 private:
  explicit AuditLog(std::shared_ptr<Shared> shared);
  Status Submit(AuditRecord record, bool checkpoint, std::string reason);

  std::shared_ptr<Shared> shared_;
  std::thread writer_;  // runs the batches; holds its own reference to *shared_
};

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_LOG_H_
