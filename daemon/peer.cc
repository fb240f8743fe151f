#include "daemon/peer.h"

#include <errno.h>
#include <sys/socket.h>

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

std::string PeerRegistry::PeerName(int fd) { return "fd:" + std::to_string(fd); }

void PeerRegistry::Record(int fd, const PeerCred& cred) {
  std::lock_guard<std::mutex> lock(mu_);
  peers_[PeerName(fd)] = cred;
}

std::optional<PeerCred> PeerRegistry::Lookup(const std::string& grpc_peer) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(grpc_peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace latchkey::daemon
