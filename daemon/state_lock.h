// StateDirLock: one latchkeyd per state directory.
//
// The lock is an exclusive flock on "<state_dir>/latchkeyd.lock" (mode 0600) held for the
// daemon's lifetime; the file holds the owner's pid (decimal, one line) for the message a
// second daemon prints. The kernel drops the flock when the owner dies, however it dies.
// A daemon that stops cleanly empties the file (MarkStopped), so a pid found in it when the
// lock is taken names a daemon that died (crash recovery, docs/daemon.md).
//
// Thread-safety: a move-only value.
#ifndef LATCHKEY_DAEMON_STATE_LOCK_H_
#define LATCHKEY_DAEMON_STATE_LOCK_H_

#include <cstdint>
#include <string>

#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

class StateDirLock {
 public:
  StateDirLock(StateDirLock&&) noexcept = default;
  StateDirLock& operator=(StateDirLock&&) noexcept = default;

  // Takes the lock of `state_dir` (which must exist). FAILED_PRECONDITION when another
  // process holds it: "state directory <dir> is in use by latchkeyd pid <pid> (lock file
  // <dir>/latchkeyd.lock); stop it or use another --state-dir" ("pid unknown" when the holder
  // has not written its pid yet). Other errors name the lock file.
  static Result<StateDirLock> Acquire(const std::string& state_dir);

  static std::string LockPath(const std::string& state_dir);

  // The pid the lock file held when the lock was taken: a daemon that did not stop cleanly;
  // 0 when the file was new or empty.
  int64_t previous_pid() const { return previous_pid_; }
  // Empties the lock file: this daemon stopped cleanly. With `dead_pid` not 0, writes that pid
  // instead (a start that failed passes on the mark of the daemon that died before it). Errors
  // name the lock file.
  Status MarkStopped(int64_t dead_pid = 0);

 private:
  StateDirLock(base::UniqueFd fd, int64_t previous_pid)
      : fd_(std::move(fd)), previous_pid_(previous_pid) {}
  base::UniqueFd fd_;
  int64_t previous_pid_ = 0;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_STATE_LOCK_H_
