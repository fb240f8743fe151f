#include "daemon/state_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/errno_status.h"

namespace latchkey::daemon {

std::string StateDirLock::LockPath(const std::string& state_dir) {
  return state_dir + "/latchkeyd.lock";
}

Result<StateDirLock> StateDirLock::Acquire(const std::string& state_dir) {
  const std::string path = LockPath(state_dir);
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return base::ErrnoStatus("open lock file", path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return base::ErrnoStatus("lock", path, errno);
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
    return FailedPreconditionError("state directory " + state_dir + " is in use by latchkeyd " +
                                   (pid.empty() ? std::string("pid unknown") : "pid " + pid) +
                                   " (lock file " + path + "); stop it or use another --state-dir");
  }
  char old[32] = {};
  ssize_t n = ::pread(fd.get(), old, sizeof old - 1, 0);
  int64_t previous = 0;
  for (ssize_t i = 0; i < n && old[i] >= '0' && old[i] <= '9'; ++i) {
    previous = previous * 10 + (old[i] - '0');
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return base::ErrnoStatus("write pid to", path, errno);
  }
  return StateDirLock(std::move(fd), previous);
}

Status StateDirLock::MarkStopped(int64_t dead_pid) {
  if (::ftruncate(fd_.get(), 0) != 0) return base::ErrnoStatus("empty lock file", "", errno);
  if (dead_pid == 0) return Status::OK();
  std::string pid = std::to_string(dead_pid) + "\n";
  if (::pwrite(fd_.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return base::ErrnoStatus("write pid to lock file", "", errno);
  }
  return Status::OK();
}

}  // namespace latchkey::daemon
