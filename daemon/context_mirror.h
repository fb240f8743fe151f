// The daemon's copy of a client's build context (docs/daemon.md, "Context transfer").
//
// A mirror directory holds `tree/` (the context as the client's latest build sent it, with
// .dockerignore applied on the client), `index.json` (each entry's stat as the client reported
// it, and each regular file's SHA-256) and `tmp/`. SyncContext asks the session's
// latchkey.v1.ContextSync for the client's manifest, compares it with the index, removes what
// went away, creates directories and symlinks, and fetches with ReadFiles only the regular
// files whose stat (type, mode, size, mtime) changed, passing the SHA-256 of its copy so that a
// file that was only touched comes back as "unchanged". Modes and nanosecond mtimes are applied
// as the client reported them (COPY copies them into layers, so the image is the same as in
// embedded mode); owners are not (COPY does not keep them).
//
// The client is not trusted: paths must be relative, clean and below a directory the same
// manifest lists; every file is created with O_NOFOLLOW below directories this code created,
// so no symlink of the client's redirects a write outside tree/.
//
// Thread-safety: one SyncContext per mirror directory at a time (the caller locks it).
#ifndef LATCHKEY_DAEMON_CONTEXT_MIRROR_H_
#define LATCHKEY_DAEMON_CONTEXT_MIRROR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "latchkey/status.h"

namespace latchkey::daemon {

struct ContextSyncStats {
  uint64_t entries = 0;        // in the client's manifest
  uint64_t files_fetched = 0;  // files whose bytes came over the session
  uint64_t bytes_fetched = 0;
};

// Updates `mirror_dir` (created when missing) from the ContextSync service on `session`.
// Errors: the calls' ("context transfer: <code>: <message>", with their codes),
// INVALID_ARGUMENT "context transfer: invalid path \"<p>\" from the client" (absolute, "..",
// not below a listed directory), FAILED_PRECONDITION for a file the client could not read
// (its text), and file-system errors naming the path.
// `context`: which of the session's contexts ("" the main one, else a --build-context name).
Result<ContextSyncStats> SyncContext(const std::shared_ptr<grpc::Channel>& session,
                                     const std::string& mirror_dir,
                                     const std::string& context = "");

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_CONTEXT_MIRROR_H_
