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

Result<std::unique_ptr<SshForwarder>> SshForwarder::Start(const std::string& id,
                                                          std::shared_ptr<AgentDialer> dialer,
                                                          const std::string& dir, uid_t uid,
                                                          gid_t gid, mode_t mode) {
  std::unique_ptr<SshForwarder> f(new SshForwarder());
  f->id_ = id;
  f->dialer_ = std::move(dialer);
  if (::mkdir(dir.c_str(), 0711) != 0) return ErrnoStatus("mkdir", dir, errno);
  if (::chmod(dir.c_str(), 0711) != 0) return ErrnoStatus("chmod", dir, errno);
  f->socket_path_ = dir + "/ssh_auth_sock";
  auto addr = base::UnixAddress(f->socket_path_);
  if (!addr) {
    return InvalidArgumentError("unix socket path " + f->socket_path_ + " is too long (max " +
                                std::to_string(base::kMaxUnixPathBytes) + " bytes)");
  }
  f->listen_fd_ = base::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!f->listen_fd_.valid()) return ErrnoStatus("socket for", f->socket_path_, errno);
  if (::bind(f->listen_fd_.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
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
  listen_fd_.reset();  // connections not accepted yet are refused, not left hanging
  std::list<Connection> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (auto& c : connections) c.thread.join();
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
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (!it->done) {
        ++it;
        continue;
      }
      it->thread.join();
      it = connections_.erase(it);
    }
    if (connections_.size() >= kMaxConnections) continue;  // `client` closes here
    Connection& c = connections_.emplace_back();
    c.thread = std::thread([this, &c, conn = std::move(client)]() mutable {
      (void)dialer_->Forward(id_, std::move(conn), stop_read_.get());
      std::lock_guard<std::mutex> l(mu_);
      c.done = true;
    });
  }
}

}  // namespace latchkey::executor
