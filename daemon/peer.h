// PeerCred and PeerRegistry: who is on the other end of a daemon connection.
//
// latchkeyd accepts connections itself (listener.h), reads SO_PEERCRED, and hands each socket
// to gRPC with grpc::AddInsecureChannelFromFd; gRPC then names the call's peer "fd:<n>". The
// registry maps that name to the credentials recorded at accept time, so an RPC handler finds
// its caller with Lookup(context->peer()). A descriptor number is reused only after gRPC
// closed the connection that had it, and Record overwrites the entry, so a live call always
// finds its own connection's credentials.
//
// On TCP (mutual TLS) gRPC accepts the connection itself; the caller is the verified client
// certificate's subject CN (the call's auth context) and its address. Identify() gives either
// as the audit log's PeerInfo (broker/audit/audit_record.h), which SetPeerAttributes puts into
// a broker session's attributes: policy matches its uid/user or client_cn and every audit record
// of the session carries it.
//
// Thread-safety: all methods may be called concurrently.
#ifndef LATCHKEY_DAEMON_PEER_H_
#define LATCHKEY_DAEMON_PEER_H_

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "broker/audit/audit_record.h"
#include "broker/session.h"
#include "latchkey/status.h"

namespace grpc {
class ServerContextBase;
}

namespace latchkey::daemon {

struct PeerCred {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// SO_PEERCRED of the connected unix socket `fd`. Errors: "SO_PEERCRED: <cause>".
Result<PeerCred> ReadPeerCred(int fd);

// A unix peer as the audit log records it: transport "unix", uid, gid, pid and the uid's user
// name ("" when the uid has none).
audit::PeerInfo UnixPeerInfo(const PeerCred& cred);

// Sets attrs->peer, and for a unix peer attrs->uid and attrs->user, from `peer`; other fields
// are left alone. For the session a daemon call opens (Build).
void SetPeerAttributes(const audit::PeerInfo& peer, SessionAttributes* attrs);

class PeerRegistry {
 public:
  // The peer name gRPC gives a connection added from descriptor `fd`: "fd:<fd>".
  static std::string PeerName(int fd);
  void Record(int fd, const PeerCred& cred);
  // The credentials recorded for `grpc_peer` (ServerContext::peer()); nullopt when unknown.
  std::optional<PeerCred> Lookup(const std::string& grpc_peer) const;
  // The caller of a call: a unix connection's recorded credentials (UnixPeerInfo), or on TCP
  // the client certificate's subject CN and the address; nullopt when neither is known.
  std::optional<audit::PeerInfo> Identify(const grpc::ServerContextBase& context) const;
  // shutdown(2)s every recorded unix connection that is still the same peer (its SO_PEERCRED
  // pid and uid match what was recorded), so gRPC sees it end. For latchkeyd's last resort at
  // SIGTERM: a client that stopped reading keeps gRPC's blocking Write, and so the server's
  // Shutdown, waiting for ever. Returns how many were shut down.
  int ShutdownConnections();

 private:
  mutable std::mutex mu_;
  std::map<std::string, PeerCred> peers_;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_PEER_H_
