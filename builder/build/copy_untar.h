// ADD's archive handling: detecting a local tar (plain, gzip, bzip2, xz or zstd, by content
// like Docker) and unpacking it into a directory that the entries cannot escape.
//
// Every entry name, symlink-then-file path and hardlink target is resolved with
// openat2(RESOLVE_IN_ROOT) relative to the destination directory, as if it were "/": "../x",
// "/etc/passwd" and "a -> /" followed by "a/etc/passwd" all land inside the destination.
// Entry modes, mtimes and (when running as root) owners are kept; xattrs are not applied.
// Entries named ".wh.*" are ordinary files here (Docker's ADD does not apply whiteouts).
//
// Thread-safety: reentrant; no shared state.
#ifndef LATCHKEY_BUILDER_BUILD_COPY_UNTAR_H_
#define LATCHKEY_BUILDER_BUILD_COPY_UNTAR_H_

#include <string_view>

#include "latchkey/status.h"

namespace latchkey::build {

// True when the regular file open as `fd` (readable, position 0) starts a tar archive after
// optional decompression. Leaves the file position undefined.
bool IsTarArchive(int fd);

// Unpacks the archive in the readable file `fd` (from offset 0) into the directory `dest_fd`.
// Errors name `display` (the source as written) and the entry:
// `ADD x.tar: entry "a/b": symlink without a target`.
Status UnpackTar(int fd, int dest_fd, std::string_view display);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_COPY_UNTAR_H_
