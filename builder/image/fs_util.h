// Small POSIX file helpers shared by the image code: owned file descriptors, errno → Status,
// durable atomic file replacement, directory creation and removal, advisory locks.
//
// Every function is thread-safe (no shared state) and reports failure as a Status whose message
// names the path and the OS error, e.g. "open /x/y: No such file or directory".
#ifndef LATCHKEY_BUILDER_IMAGE_FS_UTIL_H_
#define LATCHKEY_BUILDER_IMAGE_FS_UTIL_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::image {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// A Status for a failed system call: "<op> <path>: <strerror(err)>". ENOENT maps to NOT_FOUND,
// EEXIST to ALREADY_EXISTS, EACCES/EPERM/EROFS to PERMISSION_DENIED, ENOSPC/EDQUOT to
// RESOURCE_EXHAUSTED, anything else to INTERNAL.
Status ErrnoStatus(std::string_view op, std::string_view path, int err);

// Writes all `size` bytes to `fd`, retrying short writes and EINTR.
Status WriteAll(int fd, const void* data, size_t size, std::string_view path_for_errors);

// Reads the whole file at `path`.
Result<std::string> ReadFile(const std::string& path);

// Replaces `path` with `data` atomically and durably: writes "<path>.tmp-<random>" in the same
// directory, fsyncs it, renames it over `path` and fsyncs the directory. Readers see either the
// old or the new content, never a mix. On failure the temporary file is removed.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// fsyncs the directory at `path` (makes a rename or creation inside it durable).
Status FsyncDir(const std::string& path);

// mkdir -p with `mode` for each created component. An existing directory is fine; an existing
// non-directory is an error.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// rm -rf without following symlinks. A missing path is fine.
Status RemoveAll(const std::string& path);

// Creates a fresh directory "<parent>/<prefix>XXXXXX" and returns its path.
Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix);

// An exclusive flock(2) on a lock file, held until destruction. Blocks until acquired. Safe
// between processes and between threads (each lock opens its own file description).
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;
  ~FileLock() = default;  // closing the descriptor releases the lock

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_FS_UTIL_H_
