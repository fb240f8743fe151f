#include "builder/solver/changed_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/image/fs_util.h"

namespace latchkey::build {
namespace {

bool ChangedSince(const struct stat& st, const struct timespec& since) {
  return st.st_ctim.tv_sec > since.tv_sec ||
         (st.st_ctim.tv_sec == since.tv_sec && st.st_ctim.tv_nsec >= since.tv_nsec);
}

Status Errno(const char* op, const std::string& path, int err) {
  return image::ErrnoStatus(op, path, err);
}

// Walks the directory open at `fd` (taken over), whose display path is `prefix`.
Status WalkDir(int fd, dev_t dev, const std::string& prefix, const std::string& root,
               const struct timespec& since,
               const std::function<std::string(std::string_view)>& display,
               const ChangedVisitor& visit) {
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return Errno("open", root + "/" + prefix, err);
  }
  Status result = Status::OK();
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) result = Errno("read", root + "/" + prefix, errno);
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      result = Errno("stat", root + "/" + prefix, errno);
      break;
    }
    std::string path = (prefix.empty() ? "" : prefix + "/") + display(e->d_name);
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
      int sub = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        result = Errno("open", root + "/" + path, errno);
        break;
      }
      result = WalkDir(sub, dev, path, root, since, display, visit);
      if (!result.ok()) break;
    }
    if (ChangedSince(st, since)) {
      result = visit(::dirfd(dir), e->d_name, st, path);
      if (!result.ok()) break;
    }
  }
  ::closedir(dir);
  return result;
}

}  // namespace

struct timespec ChangedTreeClock() {
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return now;
}

Status WalkChangedTree(const std::string& root, const struct timespec& since,
                       const std::function<std::string(std::string_view name)>& display,
                       const ChangedVisitor& visit) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::OK();
    return Errno("open", root, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Errno("stat", root, err);
  }
  return WalkDir(fd, st.st_dev, "", root, since, display, visit);
}

Result<size_t> RemoveChangedTree(const std::string& root, const struct timespec& since) {
  size_t removed = 0;
  Status st = WalkChangedTree(
      root, since, [](std::string_view) { return std::string("*"); },
      [&](int dirfd, const char* name, const struct stat& s, const std::string&) -> Status {
        bool dir = S_ISDIR(s.st_mode);
        if (::unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0) == 0) {
          ++removed;
        } else if (!dir || (errno != ENOTEMPTY && errno != EEXIST)) {
          if (errno != ENOENT) return Errno("remove an entry in", root, errno);
        }
        return Status::OK();
      });
  if (!st.ok()) return st;
  return removed;
}

}  // namespace latchkey::build
