// Whole-file I/O and directory helpers over POSIX, with one error wording: every failure is
// base::ErrnoStatus ("<op> <path>: <strerror>", code per errno_status.h), e.g.
// "open /x/y: No such file or directory".
//
// Atomic file replacement is base::WriteFileAtomic (env.h).
//
// Thread-safety: every function is thread-safe (no shared state).
#ifndef LATCHKEY_BASE_FILE_H_
#define LATCHKEY_BASE_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::base {

// Writes all `size` bytes to `fd`, retrying short writes and EINTR. Errors name
// `path_for_errors` ("write <path>: ...").
Status WriteAll(int fd, const void* data, size_t size, std::string_view path_for_errors);

// Reads `fd` from its current offset to its end. Errors: "<verb> <path_for_errors>: ..."; more
// than `max_bytes` is RESOURCE_EXHAUSTED "<path_for_errors> is larger than <max_bytes> bytes".
Result<std::string> ReadAll(int fd, std::string_view path_for_errors, size_t max_bytes = SIZE_MAX,
                            std::string_view verb = "read");

// Reads the whole file at `path` (follows symlinks). Errors: "open <path>: ...",
// "read <path>: ..."; with a non-empty `verb`, both are "<verb> <path>: ..." instead (for
// callers whose messages say e.g. "reading <path>: ...").
Result<std::string> ReadFile(const std::string& path, std::string_view verb = {});

// fsyncs the directory at `path` (makes a rename or creation inside it durable). Errors:
// "<open_verb> <path>: ..." and "<sync_verb> <path>: ..." (e.g. "opening directory", "syncing
// directory" for callers that word their errors so).
Status FsyncDir(const std::string& path, std::string_view open_verb = "open",
                std::string_view sync_verb = "fsync");

// mkdir -p with `mode` for each created component. An existing directory is fine; an existing
// non-directory is "mkdir <path>: Not a directory". An empty path is INVALID_ARGUMENT
// "mkdir: empty path".
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// rm -rf without following symlinks. A missing path is fine.
Status RemoveAll(const std::string& path);

// Creates a fresh directory "<parent>/<prefix>XXXXXX" (mode 0700) and returns its path.
Result<std::string> MakeTempDir(const std::string& parent, const std::string& prefix);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_FILE_H_
