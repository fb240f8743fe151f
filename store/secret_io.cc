#include "store/secret_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "store/name.h"

namespace latchkey::store {
namespace {

// Turns echo off on `fd` while alive, when `fd` is a terminal.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::isatty(fd) && ::tcgetattr(fd, &saved_) == 0) {
      struct termios t = saved_;
      t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = ::tcsetattr(fd, TCSAFLUSH, &t) == 0;
    }
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  bool active() const { return active_; }

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

// Reads into buf until EOF or `cap` bytes, or (with stop_at_newline) a newline.
Result<size_t> ReadUpTo(int fd, uint8_t* buf, size_t cap, bool stop_at_newline) {
  size_t total = 0;
  while (total < cap) {
    ssize_t n = ::read(fd, buf + total, stop_at_newline ? 1 : cap - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailedPreconditionError(std::strerror(errno));
    if (n == 0) break;
    total += static_cast<size_t>(n);
    if (stop_at_newline && buf[total - 1] == '\n') break;
  }
  return total;
}

size_t StripNewline(const uint8_t* p, size_t n) {
  if (n > 0 && p[n - 1] == '\n') --n;
  if (n > 0 && p[n - 1] == '\r') --n;
  return n;
}

Result<SecretBuffer> ReadPassphraseLine(int fd, const std::string& origin, bool line) {
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(kMaxPassphraseBytes + 1));
  auto n = ReadUpTo(fd, buf.mutable_data(), kMaxPassphraseBytes + 1, line);
  if (!n.ok()) {
    return FailedPreconditionError("cannot read the passphrase from " + origin + ": " +
                                   n.status().message());
  }
  size_t len = StripNewline(buf.data(), *n);
  if (len > kMaxPassphraseBytes) {
    return InvalidArgumentError("passphrase from " + origin + " is longer than " +
                                std::to_string(kMaxPassphraseBytes) + " bytes");
  }
  if (len == 0) return InvalidArgumentError("passphrase from " + origin + " is empty");
  buf.Truncate(len);
  buf.Seal();
  return buf;
}

}  // namespace

Result<SecretBuffer> ReadSecretFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFoundError("secret file " + path + " does not exist");
    return PermissionDeniedError("cannot open secret file " + path + ": " + std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("secret file " + path + " is a directory");
  }
  auto data = ReadSecretFd(fd);
  ::close(fd);
  if (!data.ok() && data.status().code() == StatusCode::kFailedPrecondition) {
    return data.status().WithPrefix("secret file " + path);
  }
  return data;
}

Result<SecretBuffer> ReadSecretFd(int fd) {
  NoEcho no_echo(fd);
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(kMaxSecretSize));
  LK_ASSIGN_OR_RETURN(size_t n, ReadUpTo(fd, buf.mutable_data(), kMaxSecretSize, false));
  LK_RETURN_IF_ERROR(ValidateDataSize(n));
  buf.Truncate(n);
  buf.Seal();
  return buf;
}

Result<SecretBuffer> ReadPassphraseFd(int fd) {
  return ReadPassphraseLine(fd, "file descriptor " + std::to_string(fd), false);
}

Result<SecretBuffer> PromptPassphrase(const std::string& prompt, bool confirm) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return FailedPreconditionError(
        "no terminal to read the passphrase from; pass --passphrase-fd N");
  }
  auto ask = [fd](const std::string& text) -> Result<SecretBuffer> {
    (void)!::write(fd, text.data(), text.size());
    NoEcho no_echo(fd);
    auto r = ReadPassphraseLine(fd, "the terminal", true);
    (void)!::write(fd, "\n", 1);
    return r;
  };
  auto first = ask(prompt);
  if (!first.ok() || !confirm) {
    ::close(fd);
    return first;
  }
  auto second = ask("Repeat the passphrase: ");
  ::close(fd);
  if (!second.ok()) return second.status();
  if (!first->Equals(second->bytes())) {
    return InvalidArgumentError("the passphrases do not match");
  }
  return first;
}

}  // namespace latchkey::store
