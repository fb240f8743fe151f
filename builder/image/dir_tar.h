// WriteDirectoryTar: a directory tree as a tar stream (POSIX pax), for latchkeyd to send a
// directory output (-o type=local, type=oci-layout) to the client, which unpacks it with the
// hostile-input-safe TarUnpacker (tar_unpack.h).
//
// Entries: directories, regular files, symlinks and fifos, names relative to the root ("a",
// "a/b"; the root itself is not an entry), children in name order, parents first. A file with
// several links inside the tree becomes one file and hardlinks to it. Mode, owner and mtime are
// kept. Character and block devices and sockets are skipped (a local output never holds
// devices: ExportRootfs does not create them).
//
// Thread-safety: one call per stream; the tree must not change during the call.
#ifndef LATCHKEY_BUILDER_IMAGE_DIR_TAR_H_
#define LATCHKEY_BUILDER_IMAGE_DIR_TAR_H_

#include <functional>
#include <string>
#include <string_view>

#include "base/cancel.h"
#include "latchkey/status.h"

namespace latchkey::image {

// Receives the stream in pieces of at most 1 MiB; an error stops the walk and is returned.
using TarSink = std::function<Status(std::string_view bytes)>;

// Writes `dir` to `sink`. Errors name the path: "open <dir>/a: Permission denied"; the sink's
// and `cancel`'s errors are returned unchanged.
Status WriteDirectoryTar(const std::string& dir, const TarSink& sink,
                         const base::CancelCheck& cancel = {});

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_DIR_TAR_H_
