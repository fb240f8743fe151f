#include "builder/image/fs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

namespace latchkey::image {

Result<FileLock> FileLock::Acquire(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus("open lock file", path, errno);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus("lock", path, errno);
  }
  return FileLock(std::move(fd));
}

}  // namespace latchkey::image
