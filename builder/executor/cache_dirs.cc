#include "builder/executor/cache_dirs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace latchkey::executor {
namespace {

Result<base::UniqueFd> OpenLock(const std::string& dir) {
  std::string path = dir + ".lock";
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("open", path, errno);
  return fd;
}

Status Lock(int fd, int op, const std::string& dir) {
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    return ErrnoStatus("lock", dir + ".lock", errno);
  }
  return Status::OK();
}

Status EnsureDir(const std::string& dir, const CacheMount& m) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Status::OK();
    return ErrnoStatus("mkdir", dir, errno);
  }
  if (::chown(dir.c_str(), m.uid, m.gid) != 0) return ErrnoStatus("chown", dir, errno);
  if (::chmod(dir.c_str(), m.mode & 07777) != 0) return ErrnoStatus("chmod", dir, errno);
  return Status::OK();
}

}  // namespace

Result<CacheLease> AcquireCacheDir(const std::string& cache_root, const CacheMount& mount) {
  LK_RETURN_IF_ERROR(MakeDirs(cache_root, 0700));
  std::string base = cache_root + "/" + Sha256Hex(mount.id);
  CacheLease lease;
  switch (mount.sharing) {
    case CacheSharing::kShared:
    case CacheSharing::kLocked: {
      LK_ASSIGN_OR_RETURN(lease.lock, OpenLock(base));
      int op = mount.sharing == CacheSharing::kShared ? LOCK_SH : LOCK_EX;
      LK_RETURN_IF_ERROR(Lock(lease.lock.get(), op, base));
      lease.path = base;
      break;
    }
    case CacheSharing::kPrivate: {
      for (int i = 0;; ++i) {
        std::string dir = i == 0 ? base : base + "-" + std::to_string(i);
        LK_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenLock(dir));
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
          lease.lock = std::move(fd);
          lease.path = dir;
          break;
        }
        if (errno != EWOULDBLOCK && errno != EINTR)
          return ErrnoStatus("lock", dir + ".lock", errno);
      }
      break;
    }
  }
  LK_RETURN_IF_ERROR(EnsureDir(lease.path, mount));
  return lease;
}

}  // namespace latchkey::executor
