// OwnerLock: which work directories of the builder's state dir belong to a live process.
//
// A work directory `<dir>` (a build's temp dir, a step's bundle and scratch) is owned through a
// lock file `<dir>.lock` (or another path the owner names) on which its owner holds an
// exclusive flock for as long as it uses the directory. The kernel drops the flock when the
// owner dies, however it dies (SIGKILL included), so a later process can tell a live owner's
// directory from one left behind by a dead one, and clean only the latter (state recovery).
//
// Protocol: an owner creates the lock file *already locked* (Create: an O_TMPFILE is locked,
// then linked into place), then creates its directory; when done, removes its directory, then
// Releases (unlinks the lock file, then drops the flock). A cleaner Claims the lock: it gets
// it only when no live process holds it (creating it, locked, when it is missing), cleans the
// directory, then Releases. Two cleaners never clean the same directory at once.
//
// Thread-safety: an OwnerLock is a move-only value; distinct locks may be used from any thread.
#ifndef LATCHKEY_BASE_OWNER_LOCK_H_
#define LATCHKEY_BASE_OWNER_LOCK_H_

#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::base {

class OwnerLock {
 public:
  OwnerLock() = default;
  OwnerLock(OwnerLock&&) noexcept = default;
  OwnerLock& operator=(OwnerLock&& o) noexcept;
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;
  // Release().
  ~OwnerLock();

  // Creates `path` (mode 0600) already locked by this process. ALREADY_EXISTS when it exists;
  // other errors name the path ("create lock file <path>: <OS error>").
  static Result<OwnerLock> Create(const std::string& path);

  // Takes the lock at `path` if no live process holds it (creating it, locked, when missing).
  // nullopt when a live process holds it. Errors name the path.
  static Result<std::optional<OwnerLock>> Claim(const std::string& path);

  // Unlinks the lock file and drops the lock. Idempotent; never fails.
  void Release();

  bool held() const { return fd_.valid(); }
  const std::string& path() const { return path_; }

 private:
  OwnerLock(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  UniqueFd fd_;
};

// A new directory `<parent>/<prefix><random>` (mode 0700) owned through `<dir>.lock`, the lock
// created first. Errors name the path.
struct OwnedDir {
  std::string path;
  OwnerLock lock;
};
Result<OwnedDir> MakeOwnedTempDir(const std::string& parent, const std::string& prefix);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_OWNER_LOCK_H_
