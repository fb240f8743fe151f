#include "builder/executor/ssh_forwarder.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unix_address.h"

namespace latchkey::executor {
namespace {

Result<sockaddr_un> UnixAddr(const std::string& path) {
  auto addr = base::UnixAddress(path);
  if (!addr) {
    return InvalidArgumentError("unix socket path " + path + " is too long (max " +
                                std::to_string(base::kMaxUnixPathBytes) + " bytes)");
  }
  return *addr;
}

Result<base::UniqueFd> ConnectUnix(const std::string& path) {
  LK_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddr(path));
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket for", path, errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoStatus("connect", path, errno);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<SshForwarder>> SshForwarder::Start(const std::string& id,
                                                          const std::string& agent_socket,
                                                          const std::string& dir, uid_t uid,
                                                          gid_t gid, mode_t mode) {
  {
    auto probe = ConnectUnix(agent_socket);
    if (!probe.ok()) {
      std::string cause = probe.status().message();
      auto colon = cause.rfind(": ");
      return FailedPreconditionError(
          "ssh agent socket " + agent_socket + " for \"" + id +
          "\" is not usable: " + (colon == std::string::npos ? cause : cause.substr(colon + 2)));
    }
  }
  std::unique_ptr<SshForwarder> f(new SshForwarder());
  f->agent_socket_ = agent_socket;
  if (::mkdir(dir.c_str(), 0711) != 0) return ErrnoStatus("mkdir", dir, errno);
  if (::chmod(dir.c_str(), 0711) != 0) return ErrnoStatus("chmod", dir, errno);
  f->socket_path_ = dir + "/ssh_auth_sock";
  LK_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddr(f->socket_path_));
  f->listen_fd_ = base::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!f->listen_fd_.valid()) return ErrnoStatus("socket for", f->socket_path_, errno);
  if (::bind(f->listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoStatus("bind", f->socket_path_, errno);
  }
  if (::chown(f->socket_path_.c_str(), uid, gid) != 0) {
    return ErrnoStatus("chown", f->socket_path_, errno);
  }
  if (::chmod(f->socket_path_.c_str(), mode & 07777) != 0) {
    return ErrnoStatus("chmod", f->socket_path_, errno);
  }
  if (::listen(f->listen_fd_.get(), 16) != 0) return ErrnoStatus("listen", f->socket_path_, errno);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "for ssh forwarder", errno);
  f->stop_read_ = base::UniqueFd(p[0]);
  f->stop_write_ = base::UniqueFd(p[1]);
  f->acceptor_ = std::thread([raw = f.get()] { raw->AcceptLoop(); });
  return f;
}

SshForwarder::~SshForwarder() { Stop(); }

void SshForwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (stop_write_.valid()) stop_write_.reset();  // EOF wakes every poll on stop_read_
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
}

void SshForwarder::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    base::UniqueFd client(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    pumps_.emplace_back([this, c = std::move(client)]() mutable { Pump(std::move(c)); });
  }
}

void SshForwarder::Pump(base::UniqueFd client) {
  auto agent = ConnectUnix(agent_socket_);
  if (!agent.ok()) return;
  int a = client.get();
  int b = agent->get();
  bool a_open = true, b_open = true;
  char buf[16384];
  while (a_open || b_open) {
    pollfd fds[3] = {
        {a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents) return;
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      int from = i == 0 ? a : b;
      int to = i == 0 ? b : a;
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? a_open : b_open) = false;
        ::shutdown(to, SHUT_WR);
        continue;
      }
      if (!WriteAll(to, buf, static_cast<size_t>(n), "ssh forward").ok()) return;
    }
  }
}

}  // namespace latchkey::executor
