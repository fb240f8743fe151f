#include "builder/image/in_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace latchkey::image {

std::vector<std::string> CleanComponents(std::string_view name) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    if (c == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!c.empty() && c != ".") {
      out.emplace_back(c);
    }
    i = j + 1;
  }
  return out;
}

std::string JoinComponents(const std::vector<std::string>& parts, size_t count) {
  std::string s;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i) s += "/";
    s += parts[i];
  }
  return s;
}

Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode,
                            std::string_view display) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* p = path.empty() ? "." : path.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, p, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return ErrnoStatus("open", display, errno);
  }
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

}  // namespace latchkey::image
