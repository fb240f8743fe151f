#include "broker/source_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "broker/state_dir.h"

namespace latchkey {

Result<OpenedFile> OpenedFile::Open(const std::string& id, const std::string& path) {
  OpenedFile f;
  f.written_ = NormalizePath(path);
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (f.fd_ < 0) {
    int err = errno;
    std::string p = "provider file: secret " + id + ": file " + path + ": ";
    if (err == ENOENT || err == ENOTDIR) return NotFoundError(p + "no such file or directory");
    if (err == EACCES || err == EPERM) return PermissionDeniedError(p + "permission denied");
    return UnavailableError(p + "cannot open: " + std::strerror(err));
  }
  char buf[PATH_MAX + 1];
  std::string link = f.ProcPath();
  ssize_t n = ::readlink(link.c_str(), buf, PATH_MAX);
  if (n < 0) {
    return UnavailableError("provider file: secret " + id + ": file " + path +
                            ": cannot resolve the opened file: " + std::strerror(errno));
  }
  f.resolved_.assign(buf, static_cast<size_t>(n));
  return f;
}

OpenedFile::OpenedFile(OpenedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      written_(std::move(other.written_)),
      resolved_(std::move(other.resolved_)) {}

OpenedFile& OpenedFile::operator=(OpenedFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    written_ = std::move(other.written_);
    resolved_ = std::move(other.resolved_);
  }
  return *this;
}

OpenedFile::~OpenedFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string OpenedFile::ProcPath() const { return "/proc/self/fd/" + std::to_string(fd_); }

std::string CanonicalPath(std::string_view path) {
  if (path.empty()) return std::string();
  std::string lexical = NormalizePath(path);
  char resolved[PATH_MAX];
  if (::realpath(lexical.c_str(), resolved) != nullptr) return resolved;
  return lexical;
}

}  // namespace latchkey
