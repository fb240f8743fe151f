// Who may use latchkeyd (docs/daemon.md, "Security model").
//
// AccessControl holds the configuration's `daemon.allowed_uids` / `daemon.allowed_groups`
// (broker/config.h). With both empty every caller that can open the socket is allowed; else a
// local caller must have one of the uids or be in one of the groups: its SO_PEERCRED gid is the
// group's, or its uid's user is a member (getgrouplist). latchkeyd's own uid is always allowed.
// Group names are resolved at each check, so a group created later counts and a missing one
// never matches. TCP clients are admitted by their certificate (the CA), not by these lists.
//
// A refused connection is not dropped: the listener hands it to RefusalServer, whose every
// method answers PERMISSION_DENIED "uid <u> may not use latchkeyd (allowed: <list>)", so the
// client learns why (the list: "uid 0, uid 5, group latchkey", as configured).
//
// Thread-safety: AccessControl and RefusalServer may be used from any thread; Set (SIGHUP)
// replaces the lists atomically.
#ifndef LATCHKEY_DAEMON_ACCESS_H_
#define LATCHKEY_DAEMON_ACCESS_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "broker/config.h"
#include "daemon/peer.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

class AccessControl {
 public:
  explicit AccessControl(DaemonConfig config = {}, uid_t self = ::geteuid())
      : config_(std::move(config)), self_(self) {}

  void Set(DaemonConfig config);
  // nullopt when `peer` may use the daemon, else the refusal text (without a code).
  std::optional<std::string> Refusal(const PeerCred& peer) const;

 private:
  mutable std::mutex mu_;
  DaemonConfig config_;
  uid_t self_;
};

// A gRPC server with no ports that answers every call on the connections added to it with
// PERMISSION_DENIED and the text Refuse recorded for that connection (a callback generic
// service: no thread of its own).
class RefusalServer {
 public:
  // "cannot start the refusal gRPC server".
  static Result<std::unique_ptr<RefusalServer>> Start();
  ~RefusalServer();

  // Hands connection `fd` (gRPC owns it from here) to the server; its calls fail with
  // PERMISSION_DENIED `message`.
  void Refuse(int fd, std::string message);
  // Stops the server (calls still running after 1 s are cancelled). Idempotent.
  void Shutdown();

 private:
  class Service;
  RefusalServer() = default;
  std::string MessageFor(const std::string& grpc_peer) const;

  mutable std::mutex mu_;
  std::map<std::string, std::string> messages_;  // "fd:<n>" -> text
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  bool stopped_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_ACCESS_H_
