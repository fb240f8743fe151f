#include "builder/executor/agent_dialer.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/errno_status.h"
#include "base/unix_address.h"

namespace latchkey::executor {

Result<base::UniqueFd> ConnectUnixSocket(const std::string& path) {
  auto addr = base::UnixAddress(path);
  if (!addr) {
    return InvalidArgumentError("unix socket path " + path + " is too long (max " +
                                std::to_string(base::kMaxUnixPathBytes) + " bytes)");
  }
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus("socket for", path, errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    return base::ErrnoStatus("connect", path, errno);
  }
  return fd;
}

bool SendAll(int fd, const char* data, size_t size) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void CopyBothWays(int a, int b, int stop_fd) {
  char buf[16384];
  bool a_open = true, b_open = true;
  while (a_open || b_open) {
    pollfd fds[3] = {
        {a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents) break;
    bool failed = false;
    for (int i = 0; i < 2 && !failed; ++i) {
      if (!fds[i].revents) continue;
      int from = i == 0 ? a : b;
      int to = i == 0 ? b : a;
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? a_open : b_open) = false;
        ::shutdown(to, SHUT_WR);
        continue;
      }
      failed = !SendAll(to, buf, static_cast<size_t>(n));
    }
    if (failed) break;
  }
  ::explicit_bzero(buf, sizeof buf);  // agent traffic is key material
}

Result<std::string> LocalAgentDialer::SocketOf(const std::string& id) const {
  auto it = sockets_.find(id);
  if (it == sockets_.end() || it->second.empty()) {
    return NotFoundError("unset ssh forward key " + id);
  }
  return it->second;
}

Status LocalAgentDialer::Check(const std::string& id) {
  LK_ASSIGN_OR_RETURN(std::string path, SocketOf(id));
  auto probe = ConnectUnixSocket(path);
  if (probe.ok()) return Status::OK();
  std::string cause = probe.status().message();
  auto colon = cause.rfind(": ");
  return FailedPreconditionError(
      "ssh agent socket " + path + " for \"" + id +
      "\" is not usable: " + (colon == std::string::npos ? cause : cause.substr(colon + 2)));
}

std::string LocalAgentDialer::Location(const std::string& id) const {
  auto it = sockets_.find(id);
  return it == sockets_.end() ? "" : it->second;
}

Status LocalAgentDialer::Forward(const std::string& id, base::UniqueFd conn, int stop_fd) {
  LK_ASSIGN_OR_RETURN(std::string path, SocketOf(id));
  LK_ASSIGN_OR_RETURN(base::UniqueFd agent, ConnectUnixSocket(path));
  CopyBothWays(conn.get(), agent.get(), stop_fd);
  return Status::OK();
}

}  // namespace latchkey::executor
