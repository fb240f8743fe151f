// ADD's archive handling (a local tar is detected by content with image::IsTarArchive, like
// Docker): unpacking it into a directory that the entries cannot escape.
//
// The unpacking is the shared hostile-input-safe image::TarUnpacker (image/tar_unpack.h) with
// ADD's option set (image::AddUnpackOptions): entry modes, mtimes and (when running as root) owners
// are kept; xattrs are not applied; entries named ".wh.*" are ordinary files (Docker's ADD does not
// apply whiteouts); entries naming the destination itself are ignored.
//
// Thread-safety: reentrant; no shared state.
#ifndef LATCHKEY_BUILDER_SOLVER_COPY_UNTAR_H_
#define LATCHKEY_BUILDER_SOLVER_COPY_UNTAR_H_

#include <string_view>

#include "builder/image/tar_unpack.h"
#include "latchkey/status.h"

namespace latchkey::build {

// Unpacks the archive in the readable file `fd` (from offset 0) into the directory `dest_fd`.
// Errors name `display` (the source as written) and the entry:
// `ADD x.tar: entry "a/b": symlink without a target`.
Status UnpackTar(int fd, int dest_fd, std::string_view display);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_COPY_UNTAR_H_
