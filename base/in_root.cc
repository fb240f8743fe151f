#include "base/in_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/path.h"

namespace latchkey::base {

std::string JoinComponents(const std::vector<std::string>& parts, size_t count) {
  std::string s;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i) s += "/";
    s += parts[i];
  }
  return s;
}

namespace {

Result<UniqueFd> Openat2(int root_fd, std::string_view path, int flags, mode_t mode,
                         uint64_t resolve, std::string_view display) {
  const std::string clean = RootedPath(path);
  const std::string rel = clean == "/" ? "." : clean.substr(1);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return ErrnoStatus("open", display.empty() ? std::string_view(clean) : display, errno);
  }
}

}  // namespace

Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags, mode_t mode,
                            std::string_view display) {
  return Openat2(root_fd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, display);
}

Result<UniqueFd> OpenBeneathNoSymlinks(int root_fd, std::string_view path, int flags) {
  return Openat2(root_fd, path, flags, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, {});
}

Result<std::string> FdPath(int fd) {
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  char buf[4096];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n < 0) return ErrnoStatus("readlink", link, errno);
  if (static_cast<size_t>(n) >= sizeof buf) return InternalError("readlink " + link + ": too long");
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> ResolveInRoot(int root_fd, const std::string& root_host_path,
                                  std::string_view path) {
  std::string clean = RootedPath(path);
  std::vector<std::string> parts = RootedComponents(clean);
  for (size_t n = parts.size() + 1; n-- > 0;) {
    std::string prefix;
    for (size_t i = 0; i < n; ++i) prefix += "/" + parts[i];
    if (prefix.empty()) prefix = "/";
    auto fd = OpenInRoot(root_fd, prefix, O_PATH);
    if (!fd.ok()) {
      if (fd.status().code() == StatusCode::kNotFound) continue;
      // ENOTDIR and friends: a file in the middle; keep the lexical rest.
      continue;
    }
    LK_ASSIGN_OR_RETURN(std::string host, FdPath(fd->get()));
    std::string resolved;
    if (host == root_host_path) {
      resolved = "/";
    } else if (host.size() > root_host_path.size() &&
               host.compare(0, root_host_path.size(), root_host_path) == 0 &&
               host[root_host_path.size()] == '/') {
      resolved = host.substr(root_host_path.size());
    } else {
      return InternalError("resolve " + clean + ": resolved outside the root filesystem");
    }
    for (size_t i = n; i < parts.size(); ++i) {
      resolved += (resolved == "/" ? "" : "/") + parts[i];
    }
    return RootedPath(resolved);
  }
  return InternalError("resolve " + clean + ": the root filesystem cannot be opened");
}

bool ExistsInRoot(int root_fd, std::string_view path) {
  return OpenInRoot(root_fd, path, O_PATH).ok();
}

Status MakeDirsInRoot(int root_fd, std::string_view path, mode_t mode, uid_t uid, gid_t gid) {
  std::string clean = RootedPath(path);
  std::vector<std::string> parts = RootedComponents(clean);
  std::string prefix;
  for (const auto& part : parts) {
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + part;
    auto fd = OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (fd.ok()) continue;
    if (fd.status().code() != StatusCode::kNotFound) return fd.status();
    LK_ASSIGN_OR_RETURN(UniqueFd pfd, OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY));
    if (::mkdirat(pfd.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", prefix, errno);
    }
    // Owner and mode are set through a descriptor of the directory itself, opened without
    // following a symlink: when mkdirat said EEXIST, `part` may be a symlink whose target does
    // not exist in the root, and fchmodat(2) by name would follow it to a host path.
    UniqueFd dir(
        ::openat(pfd.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) {
      return ErrnoStatus("mkdir", prefix, errno == ELOOP || errno == ENOTDIR ? EEXIST : errno);
    }
    if (::fchown(dir.get(), uid, gid) != 0) return ErrnoStatus("chown", prefix, errno);
    if (::fchmod(dir.get(), mode) != 0) return ErrnoStatus("chmod", prefix, errno);
  }
  return Status::OK();
}

Result<std::string> ReadFileInRoot(int root_fd, std::string_view path, size_t max_bytes) {
  LK_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", RootedPath(path), errno);
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError(RootedPath(path) + " is not a regular file");
  }
  return ReadAll(fd.get(), RootedPath(path), max_bytes);
}

Result<UniqueFd> OpenOrMakeDirInRoot(int root_fd, const std::vector<std::string>& parts,
                                     size_t count, std::string_view display) {
  // Fast path: the whole directory exists.
  auto full = OpenInRoot(root_fd, JoinComponents(parts, count), O_PATH | O_DIRECTORY, 0, display);
  if (full.ok() || full.status().code() != StatusCode::kNotFound) return full;
  LK_ASSIGN_OR_RETURN(UniqueFd cur, OpenInRoot(root_fd, "", O_PATH | O_DIRECTORY, 0, display));
  for (size_t i = 0; i < count; ++i) {
    std::string prefix = JoinComponents(parts, i + 1);
    auto next = OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY, 0, display);
    if (!next.ok() && next.status().code() == StatusCode::kNotFound) {
      if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus("mkdir", display, errno);
      }
      next = OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY, 0, display);
    }
    if (!next.ok()) return next.status();
    cur = std::move(*next);
  }
  return cur;
}

Result<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view display) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", display, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("open", display, err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus("read directory", display, err);
  return names;
}

Status RemoveAt(int dir_fd, const std::string& name, std::string_view display) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus("stat", display, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) return ErrnoStatus("open", display, errno);
    LK_RETURN_IF_ERROR(RemoveChildrenExcept(
        sub.get(), [](const std::string&) { return false; }, display));
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus("remove", display, errno);
    }
    return Status::OK();
  }
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus("remove", display, errno);
  }
  return Status::OK();
}

}  // namespace latchkey::base
