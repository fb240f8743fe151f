// WriteContextTar: a build context as the tar stream Docker Engine's POST /build takes
// (`latchkey build --builder docker`, docs/docker-builder.md): every file, directory and
// symlink below `context_dir` that `ignore` (.dockerignore) keeps, in a stable order (sorted
// per directory), owned by 0:0 with no owner names (as `docker build` sends it), with modes and
// modification times kept.
// Special files (sockets, devices, fifos) are skipped, as Docker's client does.
//
// Errors: "build context <dir>: <path>: <strerror>" for an entry that cannot be read; the
// sink's errors as they are (the stream then stops).
//
// Thread-safety: pure function of the tree; the sink runs on the calling thread.
#ifndef LATCHKEY_CLI_CONTEXT_TAR_H_
#define LATCHKEY_CLI_CONTEXT_TAR_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/solver/dockerignore.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// Streams the tar to `sink` in blocks (at most 64 KiB each).
Status WriteContextTar(const std::string& context_dir, const build::IgnoreMatcher& ignore,
                       const std::function<Status(std::string_view)>& sink);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_CONTEXT_TAR_H_
