// Small POSIX helpers for the executor: random ids, mount and unmount, new-file writes and
// zero-wiping (owned descriptors, errno -> Status and whole-file I/O are in base/).
//
// Every function is thread-safe (no shared state). Failures name the operation, the path and
// the OS error: "mount tmpfs on /x: Operation not permitted".
#ifndef LATCHKEY_BUILDER_EXECUTOR_SYS_UTIL_H_
#define LATCHKEY_BUILDER_EXECUTOR_SYS_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// The file helpers of base/ ("<op> <path>: <strerror>" errors, mkdir -p, full writes, rm -rf
// without following symlinks), used unqualified throughout the executor.
using base::ErrnoStatus;
using base::MakeDirs;
using base::RemoveAll;
using base::WriteAll;

// 2*bytes lower-case hex characters from the kernel's random source.
std::string RandomHex(size_t bytes);

// Lower-case hex SHA-256 of `data` (libsodium).
std::string Sha256Hex(std::string_view data);

// mount(2) wrappers. `data` is the filesystem option string.
Status MountFs(const std::string& fstype, const std::string& source, const std::string& target,
               unsigned long flags, const std::string& data);
// Unmounts `target`; falls back to a lazy (MNT_DETACH) unmount when it is busy.
Status Unmount(const std::string& target);

// Creates `path` (must not exist) with `mode` and writes `data` into it.
Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode);

// Overwrites every regular file below `dir` (not following symlinks, not crossing into other
// mounts' contents beyond what readdir shows) with zeros, then unlinks it. Used to wipe the
// in-memory step directory before its tmpfs is unmounted. Best effort: never fails.
void WipeTree(const std::string& dir);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_SYS_UTIL_H_
