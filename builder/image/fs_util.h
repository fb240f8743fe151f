// File helpers of the image code: base/'s primitives (owned file descriptors, errno → Status,
// durable atomic file replacement, directory creation and removal) and advisory locks.
//
// Every function is thread-safe (no shared state) and reports failure as a Status whose message
// names the path and the OS error, e.g. "open /x/y: No such file or directory".
#ifndef LATCHKEY_BUILDER_IMAGE_FS_UTIL_H_
#define LATCHKEY_BUILDER_IMAGE_FS_UTIL_H_

#include <string>

#include "base/env.h"
#include "base/errno_status.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::image {

// The file primitives live in base/ (one implementation for every component); the image code
// and its users call them by these names.
using base::ErrnoStatus;  // "<op> <path>: <strerror>", code per base/errno_status.h
using base::FsyncDir;
using base::MakeDirs;
using base::MakeTempDir;
using base::ReadFile;
using base::RemoveAll;
using base::UniqueFd;
using base::WriteAll;
using base::WriteFileAtomic;

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
