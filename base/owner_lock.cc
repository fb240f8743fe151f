#include "base/owner_lock.h"

#include "base/errno_status.h"
#include "base/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

namespace latchkey::base {
namespace {

std::string Parent(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// A locked, anonymous file in `path`'s directory, linked at `path`; EEXIST when it exists.
Result<UniqueFd> CreateLocked(const std::string& path) {
  std::string dir = Parent(path);
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd.valid()) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      return ErrnoStatus("lock", path, errno);
    }
    std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return ErrnoStatus("create lock file", path, errno);
    }
    return fd;
  }
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return ErrnoStatus("create lock file", path, errno);
  }
  // No O_TMPFILE here: a private name, locked, then linked (link never replaces a file).
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string tmp = dir + "/.lock-" + std::to_string(rng());
  fd = UniqueFd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create lock file", tmp, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("lock", tmp, err);
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) return ErrnoStatus("create lock file", path, err);
  return fd;
}

}  // namespace

OwnerLock& OwnerLock::operator=(OwnerLock&& o) noexcept {
  if (this != &o) {
    Release();
    path_ = std::move(o.path_);
    fd_ = std::move(o.fd_);
  }
  return *this;
}

OwnerLock::~OwnerLock() { Release(); }

Result<OwnerLock> OwnerLock::Create(const std::string& path) {
  LK_ASSIGN_OR_RETURN(UniqueFd fd, CreateLocked(path));
  return OwnerLock(path, std::move(fd));
}

Result<std::optional<OwnerLock>> OwnerLock::Claim(const std::string& path) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno != ENOENT) return ErrnoStatus("open lock file", path, errno);
      auto created = CreateLocked(path);
      if (created.ok()) return std::optional<OwnerLock>(OwnerLock(path, std::move(*created)));
      if (created.status().code() == StatusCode::kAlreadyExists) continue;  // raced: look again
      return created.status();
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return std::optional<OwnerLock>();
      return ErrnoStatus("lock", path, errno);
    }
    // Still the file at `path`? Its owner may have released (unlinked) it after our open.
    struct stat held {
    }, now{};
    if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &now) == 0 &&
        held.st_dev == now.st_dev && held.st_ino == now.st_ino) {
      return std::optional<OwnerLock>(OwnerLock(path, std::move(fd)));
    }
  }
  return UnavailableError("lock file " + path + " keeps changing; try again");
}

Result<OwnedDir> MakeOwnedTempDir(const std::string& parent, const std::string& prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = prefix;
    for (int i = 0; i < 10; ++i) name.push_back(kChars[rng() % 36]);
    OwnedDir out;
    out.path = parent + "/" + name;
    auto lock = OwnerLock::Create(out.path + ".lock");
    if (!lock.ok()) {
      if (lock.status().code() == StatusCode::kAlreadyExists) continue;
      return lock.status();
    }
    out.lock = std::move(*lock);
    if (::mkdir(out.path.c_str(), 0700) == 0) return out;
    if (errno != EEXIST) return ErrnoStatus("mkdir", out.path, errno);
  }
  return InternalError("cannot make a temporary directory in " + parent);
}

void OwnerLock::Release() {
  if (!fd_.valid()) return;
  ::unlink(path_.c_str());
  fd_ = UniqueFd();
}

}  // namespace latchkey::base
