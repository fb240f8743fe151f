// Env: the file and directory operations that durable stores perform, behind two small
// interfaces (LevelDB's Env / WritableFile pattern) so that tests can inject faults (a full
// disk, an I/O error, a short write, an fsync that fails) by wrapping the real one
// (base/fault_env_testutil.h).
//
// Every failure is a Status whose message is the cause alone, naming the operation and the path
// ("writing /var/lib/latchkey/audit/audit.log: No space left on device"), with the code of
// base::ErrnoCode (NOT_FOUND for a missing file, RESOURCE_EXHAUSTED for a full disk, ...).
// Callers that fail closed remap the code (the audit log makes everything UNAVAILABLE).
#ifndef LATCHKEY_BASE_ENV_H_
#define LATCHKEY_BASE_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::base {

// One file opened for writing at its end. Not thread-safe: one owner at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `bytes` at the end of the file, retrying short writes. On failure a prefix of
  // `bytes` may have reached the file.
  virtual Status Append(std::string_view bytes) = 0;
  // fdatasync: the appended bytes are on stable storage when this returns OK.
  virtual Status Sync() = 0;
  // The file's size in bytes, including everything appended so far.
  virtual uint64_t Size() const = 0;
  // Closes the descriptor. Idempotent; Append/Sync after Close fail.
  virtual Status Close() = 0;
};

// The tail of a file: its total size and up to the last `max_bytes` bytes of it.
struct FileTail {
  uint64_t size = 0;
  std::string bytes;
};

// Who a file is and how big: equal identities before and after mean nobody else wrote to it
// (or replaced it) in between.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

// Directory and whole-file operations. Implementations must be thread-safe.
class Env {
 public:
  virtual ~Env() = default;
  // Takes an exclusive flock(2) on `path` (created with mode 0600 when missing), blocking until
  // it is granted; released when the returned handle is destroyed. Serialises the writers of
  // one file across processes. The default implementation is the real one.
  virtual Result<std::shared_ptr<void>> LockExclusive(const std::string& path);
  // stat(2) of `path`; NOT_FOUND "<path> does not exist" when it does not exist. The default
  // implementation is real.
  virtual Result<FileIdentity> Identify(const std::string& path);
  // Opens `path` for appending, creating it with mode 0600 when missing.
  virtual Result<std::unique_ptr<WritableFile>> OpenAppend(const std::string& path) = 0;
  // Creates a new, empty file with permission bits `mode` and a unique name
  // "<dir>/<prefix>XXXXXX" (mkstemp) and opens it for writing; stores its path in `*path`. `dir`
  // must exist. The default implementation is real.
  virtual Result<std::unique_ptr<WritableFile>> CreateTemp(const std::string& dir,
                                                           const std::string& prefix, uint32_t mode,
                                                           std::string* path);
  // Creates `dir` and missing parents with mode 0700. OK when it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // rename(2), then fsync of the target's directory.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // unlink(2); OK when `path` does not exist.
  virtual Status Remove(const std::string& path) = 0;
  // truncate(2) to `size` bytes, then fsync.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // The size and last `max_bytes` bytes of `path`; NOT_FOUND when it does not exist.
  virtual Result<FileTail> ReadTail(const std::string& path, size_t max_bytes) = 0;
};

// The real POSIX implementation. The returned object is shared and stateless.
std::shared_ptr<Env> PosixEnv();

// The one atomic file replacement of latchkey. Replaces `path` with `data` (permission bits
// `mode`) atomically through `env`; concurrent writers of one path may race, as each has its own
// temporary file: CreateTemp("<dir>", "<name>.tmp-", mode), Append, Sync, Close, then Rename
// (which fsyncs the directory). Readers see the old or the new content, never a mix. Without
// `sync` (a file that is cheap to lose, e.g. the audit log's head between checkpoints) neither
// the file nor the directory is fsynced and the rename is a plain rename(2) ("renaming <tmp> to
// <path>: ..."). On failure the temporary file is removed and the error is env's, naming the
// file ("writing <dir>/<name>.tmp-XXXXXX: No space left on device").
Status WriteFileAtomic(Env& env, const std::string& path, std::string_view data, uint32_t mode,
                       bool sync = true);
// The same through the POSIX Env (PosixEnv()).
Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode = 0644);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_ENV_H_
