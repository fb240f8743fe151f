#include "base/env.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/path.h"

namespace latchkey::base {

namespace {

Status FsyncDirOf(const std::string& path) {
  return FsyncDir(DirName(path), "opening directory", "syncing directory");
}

class PosixFile final : public WritableFile {
 public:
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixFile() override { (void)Close(); }

  Status Append(std::string_view bytes) override {
    if (fd_ < 0) return FailedPreconditionError("writing " + path_ + ": file is closed");
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing", path_, errno);
      }
      size_ += static_cast<uint64_t>(n);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::OK();
  }

  Status Sync() override {
    if (fd_ < 0) return FailedPreconditionError("syncing " + path_ + ": file is closed");
    if (::fdatasync(fd_) != 0) return ErrnoStatus("syncing", path_, errno);
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return ErrnoStatus("closing", path_, errno);
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixEnvImpl final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> OpenAppend(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus("opening", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("opening", path, err);
    }
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return Status::OK();
    for (size_t pos = 1; pos <= dir.size(); ++pos) {
      if (pos != dir.size() && dir[pos] != '/') continue;
      std::string prefix = dir.substr(0, pos);
      if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoStatus("creating directory", prefix, errno);
      }
    }
    return Status::OK();
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("renaming " + from + " to", to, errno);
    }
    return FsyncDirOf(to);
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("removing", path, errno);
    return Status::OK();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("truncating", path, errno);
    int rc = ::ftruncate(fd, static_cast<off_t>(size));
    if (rc == 0) rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("truncating", path, err);
    return Status::OK();
  }

  Result<FileTail> ReadTail(const std::string& path, size_t max_bytes) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("reading", path, errno);
    FileTail tail;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("reading", path, err);
    }
    tail.size = static_cast<uint64_t>(st.st_size);
    uint64_t want = std::min<uint64_t>(tail.size, max_bytes);
    tail.bytes.resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, tail.bytes.data() + got, want - got,
                          static_cast<off_t>(tail.size - want + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        ::close(fd);
        return ErrnoStatus("reading", path, err);
      }
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    return tail;
  }
};

}  // namespace

Result<std::shared_ptr<void>> Env::LockExclusive(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("opening", path, errno);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("locking", path, err);
    }
  }
  return std::shared_ptr<void>(reinterpret_cast<void*>(static_cast<intptr_t>(fd) + 1),
                               [fd](void*) { ::close(fd); });
}

Result<FileIdentity> Env::Identify(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundError(path + " does not exist");
    return ErrnoStatus("stat", path, errno);
  }
  return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                      static_cast<uint64_t>(st.st_size)};
}

Result<std::unique_ptr<WritableFile>> Env::CreateTemp(const std::string& dir,
                                                      const std::string& prefix, uint32_t mode,
                                                      std::string* path) {
  const std::string pattern = dir + "/" + prefix + "XXXXXX";
  std::string tmpl = pattern;  // mkostemp rewrites the X's, even when it fails
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("creating", pattern, errno);
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return ErrnoStatus("creating", tmpl, err);
  }
  *path = tmpl;
  return std::unique_ptr<WritableFile>(std::make_unique<PosixFile>(tmpl, fd, 0));
}

std::shared_ptr<Env> PosixEnv() {
  static const std::shared_ptr<Env> fs = std::make_shared<PosixEnvImpl>();
  return fs;
}

Status WriteFileAtomic(Env& env, const std::string& path, std::string_view data, uint32_t mode,
                       bool sync) {
  std::string tmp;
  const std::string name = path.substr(path.rfind('/') + 1);
  LK_ASSIGN_OR_RETURN(auto file, env.CreateTemp(DirName(path), name + ".tmp-", mode, &tmp));
  Status st = file->Append(data);
  if (st.ok() && sync) st = file->Sync();
  Status closed = file->Close();
  if (st.ok()) st = closed;
  if (st.ok() && sync) st = env.Rename(tmp, path);
  if (st.ok() && !sync && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = ErrnoStatus("renaming " + tmp + " to", path, errno);
  }
  if (!st.ok()) (void)env.Remove(tmp);
  return st;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) {
  return WriteFileAtomic(*PosixEnv(), path, data, mode);
}

}  // namespace latchkey::base
