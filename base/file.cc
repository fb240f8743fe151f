#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/errno_status.h"
#include "base/path.h"
#include "base/unique_fd.h"

namespace latchkey::base {

Status WriteAll(int fd, const void* data, size_t size, std::string_view path_for_errors) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path_for_errors, errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

Result<std::string> ReadAll(int fd, std::string_view path_for_errors, size_t max_bytes,
                            std::string_view verb) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(verb, path_for_errors, errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return ResourceExhaustedError(std::string(path_for_errors) + " is larger than " +
                                    std::to_string(max_bytes) + " bytes");
    }
  }
}

Result<std::string> ReadFile(const std::string& path, std::string_view verb) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(verb.empty() ? "open" : verb, path, errno);
  return ReadAll(fd.get(), path, SIZE_MAX, verb.empty() ? "read" : verb);
}

Status FsyncDir(const std::string& path, std::string_view open_verb, std::string_view sync_verb) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(open_verb, path, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(sync_verb, path, errno);
  return Status::OK();
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return InvalidArgumentError("mkdir: empty path");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::OK();
    return ErrnoStatus("mkdir", path, ENOTDIR);
  }
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty() && parent != path) LK_RETURN_IF_ERROR(MakeDirs(parent, mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus("mkdir", path, errno);
  }
  return Status::OK();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return ErrnoStatus("remove", path, ec.value());
  return Status::OK();
}

Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus("mkdtemp", tmpl, errno);
  return tmpl;
}

}  // namespace latchkey::base
