#include "session/tunnel_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/errno_status.h"
#include "secure/secret_buffer.h"

namespace latchkey::session {

Result<std::pair<base::UniqueFd, base::UniqueFd>> MakeTunnelSocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return base::ErrnoStatus("socketpair", "", errno);
  }
  // gRPC's end: its event engine expects a non-blocking socket.
  int flags = ::fcntl(fds[0], F_GETFL);
  if (flags < 0 || ::fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return base::ErrnoStatus("fcntl O_NONBLOCK", "socketpair", err);
  }
  return std::make_pair(base::UniqueFd(fds[0]), base::UniqueFd(fds[1]));
}

size_t PumpSocketToStream(int fd,
                          const std::function<bool(const latchkey::v1::BytesMessage&)>& write) {
  latchkey::v1::BytesMessage msg;
  std::string* data = msg.mutable_data();
  size_t total = 0;
  for (;;) {
    data->resize(kTunnelChunkSize);
    ssize_t n = ::read(fd, data->data(), data->size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data->resize(static_cast<size_t>(n));
    if (!write(msg)) break;
    total += static_cast<size_t>(n);
  }
  // The tunnel carries secret values inside HTTP/2 frames: the buffer is wiped, all of it, before
  // it is freed (gRPC's and the kernel's own buffers are out of our reach; docs/daemon.md).
  data->resize(data->capacity());
  WipeStringBytes(data);
  return total;
}

void ShutdownTunnelSocket(int fd) {
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace latchkey::session
