#include "builder/executor/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace latchkey::executor {

std::string CleanPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (c.empty() || c == ".") {
    } else if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.emplace_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::vector<std::string> PathComponents(std::string_view clean_path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < clean_path.size()) {
    size_t j = clean_path.find('/', i);
    if (j == std::string_view::npos) j = clean_path.size();
    if (j > i) out.emplace_back(clean_path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

namespace {
Result<base::UniqueFd> Openat2(int root_fd, std::string_view path, int flags, mode_t mode,
                               uint64_t resolve) {
  std::string rel = CleanPath(path).substr(1);
  if (rel.empty()) rel = ".";
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return base::UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return ErrnoStatus("open", CleanPath(path), errno);
  }
}
}  // namespace

Result<base::UniqueFd> OpenBeneathNoSymlinks(int root_fd, std::string_view path, int flags) {
  return Openat2(root_fd, path, flags, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

Result<base::UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags, mode_t mode) {
  return Openat2(root_fd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
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
  std::string clean = CleanPath(path);
  std::vector<std::string> parts = PathComponents(clean);
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
    return CleanPath(resolved);
  }
  return InternalError("resolve " + clean + ": the root filesystem cannot be opened");
}

bool ExistsInRoot(int root_fd, std::string_view path) {
  return OpenInRoot(root_fd, path, O_PATH).ok();
}

Status MakeDirsInRoot(int root_fd, std::string_view path, mode_t mode, uid_t uid, gid_t gid) {
  std::string clean = CleanPath(path);
  std::vector<std::string> parts = PathComponents(clean);
  std::string prefix;
  for (const auto& part : parts) {
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + part;
    auto fd = OpenInRoot(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (fd.ok()) continue;
    if (fd.status().code() != StatusCode::kNotFound) return fd.status();
    LK_ASSIGN_OR_RETURN(base::UniqueFd pfd, OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY));
    if (::mkdirat(pfd.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", prefix, errno);
    }
    if (::fchownat(pfd.get(), part.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("chown", prefix, errno);
    }
    if (::fchmodat(pfd.get(), part.c_str(), mode, 0) != 0) {
      return ErrnoStatus("chmod", prefix, errno);
    }
  }
  return Status::OK();
}

Result<std::string> ReadFileInRoot(int root_fd, std::string_view path, size_t max_bytes) {
  LK_ASSIGN_OR_RETURN(base::UniqueFd fd,
                      OpenInRoot(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", CleanPath(path), errno);
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError(CleanPath(path) + " is not a regular file");
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", CleanPath(path), errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return ResourceExhaustedError(CleanPath(path) + " is larger than " +
                                    std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

}  // namespace latchkey::executor
