#include "cli/secret_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "store/secret_io.h"

namespace latchkey::cli {

Result<SecretBuffer> ReadSecretData(const std::string& file, int stdin_fd, std::ostream& notice) {
  if (!file.empty() && file != "-") return store::ReadSecretFile(file);
  if (::isatty(stdin_fd)) {
    notice << "Reading the secret from the terminal (not echoed); end with Ctrl-D.\n";
  }
  return store::ReadSecretFd(stdin_fd);
}

Result<SecretBuffer> ReadHashValue(const std::string& path, int stdin_fd) {
  auto unreadable = [&path](int err) {
    return UnavailableError("cannot read value file " + path + ": " + base::ErrnoText(err));
  };
  // Empty for standard input, which is not ours to close.
  base::UniqueFd owned(path == "-" ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (path != "-" && !owned.valid()) return unreadable(errno);
  const int fd = path == "-" ? stdin_fd : owned.get();
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(kMaxHashValueBytes + 1));
  size_t got = 0;
  while (got <= kMaxHashValueBytes) {
    ssize_t n = ::read(fd, buf.mutable_data() + got, kMaxHashValueBytes + 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unreadable(errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > kMaxHashValueBytes) {
    return InvalidArgumentError("value file " + path + " is larger than " +
                                std::to_string(kMaxHashValueBytes) +
                                " bytes, the largest secret latchkey hands out");
  }
  buf.Truncate(got);
  buf.Seal();
  return buf;
}

}  // namespace latchkey::cli
