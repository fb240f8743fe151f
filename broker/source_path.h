// File sources as policy sees them: one open, and the real path of what was opened.
//
// A path rule (`path_under`, `path_not_under`) must decide on the file that is served, not on
// the spelling of the path or on a symlink in it. So the broker opens a file source once,
// reads the opened file's real path back from /proc/self/fd/N, lets policy decide on that,
// and has the provider read the same open file through /proc/self/fd/N: no path is walked a
// second time, so a symlink swapped in between cannot change what is served.
//
// Thread-safety: pure functions; an OpenedFile is not shared between threads.
#ifndef LATCHKEY_BROKER_SOURCE_PATH_H_
#define LATCHKEY_BROKER_SOURCE_PATH_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey {

// A file source opened read-only. Owns the descriptor; move-only.
class OpenedFile {
 public:
  // Opens `path` (absolute) with O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC (a FIFO does not block
  // the open) and resolves the opened file's real path. Errors use the file provider's words,
  // for secret `id`:
  //   NOT_FOUND          "provider file: secret <id>: file <path>: no such file or directory"
  //   PERMISSION_DENIED  "provider file: secret <id>: file <path>: permission denied"
  //   UNAVAILABLE        "provider file: secret <id>: file <path>: cannot open: <reason>"
  static Result<OpenedFile> Open(const std::string& id, const std::string& path);

  OpenedFile(OpenedFile&& other) noexcept;
  OpenedFile& operator=(OpenedFile&& other) noexcept;
  OpenedFile(const OpenedFile&) = delete;
  OpenedFile& operator=(const OpenedFile&) = delete;
  ~OpenedFile();

  // The path as written, lexically normalised.
  const std::string& written() const { return written_; }
  // The opened file's real path (symlinks resolved), e.g. "/etc/shadow"; for a file with no
  // path, the kernel's name for it ("pipe:[4242]").
  const std::string& resolved() const { return resolved_; }
  // "/proc/self/fd/<n>": opening it reopens this very file without walking `written`.
  std::string ProcPath() const;
  // The open descriptor (owned here), for handing the file to a provider in another process.
  int fd() const { return fd_; }

 private:
  OpenedFile() = default;
  int fd_ = -1;
  std::string written_;
  std::string resolved_;
};

// The spelling policy rules match for a path attribute (Dockerfile, context, working
// directory, a file source that cannot be opened): lexically normalised ("/ctx//./Dockerfile"
// -> "/ctx/Dockerfile"), then through realpath(3) when the path exists. Empty stays empty.
std::string CanonicalPath(std::string_view path);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_SOURCE_PATH_H_
