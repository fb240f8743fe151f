#include "daemon/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/unix_address.h"
#include "broker/logging.h"

namespace latchkey::daemon {
namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<sockaddr_un> UnixAddress(const std::string& path) {
  auto addr = base::UnixAddress(path);
  if (!addr) {
    return InvalidArgumentError("socket path " + path + " is longer than " +
                                std::to_string(base::kMaxUnixPathBytes) + " bytes");
  }
  return *addr;
}

// True when a process accepts connections on the socket at `path`.
bool SomeoneListens(const sockaddr_un& addr) {
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

Result<ListenAddress> ParseListen(std::string_view address) {
  constexpr std::string_view kUnix = "unix://";
  constexpr std::string_view kTcp = "tcp://";
  ListenAddress out;
  if (address.substr(0, kUnix.size()) == kUnix && address.size() > kUnix.size() + 1 &&
      address[kUnix.size()] == '/') {
    out.path = std::string(address.substr(kUnix.size()));
    return out;
  }
  if (address.substr(0, kTcp.size()) == kTcp) {
    std::string_view hp = address.substr(kTcp.size());
    size_t colon = hp.rfind(':');
    bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < hp.size() &&
              hp.find('/') == std::string_view::npos;
    for (size_t i = colon + 1; ok && i < hp.size(); ++i) ok = hp[i] >= '0' && hp[i] <= '9';
    if (ok && std::stoul(std::string(hp.substr(colon + 1))) <= 65535) {
      out.kind = ListenAddress::Kind::kTcp;
      out.hostport = std::string(hp);
      return out;
    }
  }
  return InvalidArgumentError("invalid --listen " + std::string(address) +
                              ": want unix:///absolute/path or tcp://host:port");
}

Result<std::unique_ptr<UnixListener>> UnixListener::Open(const std::string& path) {
  LK_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  const std::string dir = DirName(path);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    LK_RETURN_IF_ERROR(base::MakeDirs(dir, 0755));
  }
  if (::lstat(dir.c_str(), &st) != 0) return base::ErrnoStatus("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("refusing to listen on " + path + ": " + dir +
                                   " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return FailedPreconditionError("refusing to listen on " + path + ": directory " + dir +
                                   " is owned by uid " + std::to_string(st.st_uid) +
                                   ", not by latchkeyd's uid " + std::to_string(::geteuid()));
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return FailedPreconditionError("refusing to listen on " + path +
                                     ": it exists and is not a socket");
    }
    if (SomeoneListens(addr)) {
      return FailedPreconditionError("refusing to listen on " + path +
                                     ": another process is listening on it");
    }
    if (::unlink(path.c_str()) != 0) return base::ErrnoStatus("remove stale socket", path, errno);
  }

  std::unique_ptr<UnixListener> l(new UnixListener());
  l->path_ = path;
  l->fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l->fd_.valid()) return base::ErrnoStatus("socket", path, errno);
  mode_t old = ::umask(0177);
  int rc = ::bind(l->fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return base::ErrnoStatus("bind", path, err);
  l->gid_ = ::getegid();
  if (const struct group* g = ::getgrnam(kSocketGroup)) l->gid_ = g->gr_gid;
  if (::chown(path.c_str(), static_cast<uid_t>(-1), l->gid_) != 0 ||
      ::chmod(path.c_str(), 0660) != 0) {
    err = errno;
    ::unlink(path.c_str());
    return base::ErrnoStatus("set owner and mode of", path, err);
  }
  if (::listen(l->fd_.get(), 128) != 0) {
    err = errno;
    ::unlink(path.c_str());
    return base::ErrnoStatus("listen", path, err);
  }
  if (Status st = l->MakeWakePipe(); !st.ok()) {
    ::unlink(path.c_str());
    return st;
  }
  return l;
}

Status UnixListener::MakeWakePipe() {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return base::ErrnoStatus("pipe", "", errno);
  wake_read_.reset(pipefd[0]);
  wake_write_.reset(pipefd[1]);
  return Status::OK();
}

Result<std::unique_ptr<UnixListener>> UnixListener::Adopt(int fd) {
  auto refuse = [fd] {
    return FailedPreconditionError("socket-activated fd " + std::to_string(fd) +
                                   " is not a listening unix stream socket");
  };
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    return refuse();
  }
  len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
    return refuse();
  }
  sockaddr_un addr{};
  len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      addr.sun_family != AF_UNIX) {
    return refuse();
  }
  std::unique_ptr<UnixListener> l(new UnixListener());
  l->adopted_ = true;
  l->fd_.reset(fd);
  (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
  size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
  l->path_ = std::string(addr.sun_path, ::strnlen(addr.sun_path, n));
  struct stat st {};
  l->gid_ = ::stat(l->path_.c_str(), &st) == 0 ? st.st_gid : ::getegid();
  LK_RETURN_IF_ERROR(l->MakeWakePipe());
  return l;
}

void UnixListener::Start(grpc::Server* server, PeerRegistry* peers, const AccessControl* access,
                         RefusalServer* refusal) {
  thread_ = std::thread(
      [this, server, peers, access, refusal] { AcceptLoop(server, peers, access, refusal); });
}

void UnixListener::AcceptLoop(grpc::Server* server, PeerRegistry* peers,
                              const AccessControl* access, RefusalServer* refusal) {
  auto log = GetLogger("latchkeyd");
  for (;;) {
    pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log->error("accept loop: poll: {}", base::ErrnoText(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) {
      int err = errno;
      if (err != EINTR && err != EAGAIN && err != ECONNABORTED) {
        log->warn("accept on {}: {}", path_, base::ErrnoText(err));
      }
      // Out of descriptors: the pending connection stays readable; do not spin on it.
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        ::poll(fds + 1, 1, 100);
      }
      continue;
    }
    auto cred = ReadPeerCred(c);
    if (!cred.ok()) {
      log->warn("connection on {} refused: {}", path_, cred.status().message());
      ::close(c);
      continue;
    }
    peers->Record(c, *cred);
    log->debug("connection fd {} from uid {} gid {} pid {}", c, cred->uid, cred->gid, cred->pid);
    if (access != nullptr && refusal != nullptr) {
      if (auto why = access->Refusal(*cred)) {
        log->warn("connection from uid {} pid {} refused: {}", cred->uid, cred->pid, *why);
        refusal->Refuse(c, std::move(*why));  // its calls answer PERMISSION_DENIED
        continue;
      }
    }
    grpc::AddInsecureChannelFromFd(server, c);  // gRPC owns `c` from here
  }
}

void UnixListener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    char b = 1;
    (void)!::write(wake_write_.get(), &b, 1);
    thread_.join();
  }
  fd_.reset();
  if (!adopted_) ::unlink(path_.c_str());
}

UnixListener::~UnixListener() { Stop(); }

}  // namespace latchkey::daemon
