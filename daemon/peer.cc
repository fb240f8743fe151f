#include "daemon/peer.h"

#include <errno.h>
#include <grpcpp/grpcpp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <vector>

#include "base/errno_status.h"

namespace latchkey::daemon {

Result<PeerCred> ReadPeerCred(int fd) {
  struct ucred uc {};
  socklen_t len = sizeof uc;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
    return base::ErrnoStatus("SO_PEERCRED", "", errno);
  }
  return PeerCred{uc.uid, uc.gid, uc.pid};
}

audit::PeerInfo UnixPeerInfo(const PeerCred& cred) {
  audit::PeerInfo p;
  p.transport = "unix";
  p.uid = cred.uid;
  p.gid = cred.gid;
  p.pid = cred.pid;
  std::vector<char> buf(4096);
  struct passwd pw {};
  struct passwd* out = nullptr;
  if (::getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &out) == 0 && out != nullptr) {
    p.user = out->pw_name;
  }
  return p;
}

void SetPeerAttributes(const audit::PeerInfo& peer, SessionAttributes* attrs) {
  attrs->peer = peer;
  if (peer.uid >= 0) {
    attrs->uid = static_cast<uint32_t>(peer.uid);
    attrs->user = peer.user;
  }
}

std::optional<audit::PeerInfo> PeerRegistry::Identify(
    const grpc::ServerContextBase& context) const {
  const std::string name = context.peer();
  if (name.rfind("fd:", 0) == 0) {
    auto cred = Lookup(name);
    if (!cred) return std::nullopt;
    return UnixPeerInfo(*cred);
  }
  auto auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return std::nullopt;
  auto cns = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (cns.empty()) return std::nullopt;
  audit::PeerInfo p;
  p.transport = "tcp";
  p.client_cn.assign(cns.front().data(), cns.front().size());
  p.address = name;
  return p;
}

std::string PeerRegistry::PeerName(int fd) { return "fd:" + std::to_string(fd); }

void PeerRegistry::Record(int fd, const PeerCred& cred) {
  std::lock_guard<std::mutex> lock(mu_);
  peers_[PeerName(fd)] = cred;
}

int PeerRegistry::ShutdownConnections() {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [name, cred] : peers_) {
    const int fd = std::atoi(name.c_str() + 3);  // "fd:<fd>"
    if (fd < 0) continue;
    // gRPC may have closed it and the number been reused: only the same peer is shut down.
    auto now = ReadPeerCred(fd);
    if (!now.ok() || now->pid != cred.pid || now->uid != cred.uid) continue;
    if (::shutdown(fd, SHUT_RDWR) == 0) ++n;
  }
  return n;
}

std::optional<PeerCred> PeerRegistry::Lookup(const std::string& grpc_peer) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(grpc_peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace latchkey::daemon
