// SessionReactor: the daemon's end of one latchkey.v1.Control/Session call (callback API), the
// tunnel of docs/daemon.md, "Session protocol".
//
// The reactor owns one end of a socketpair whose other end carries the session's gRPC channel
// (the daemon is the gRPC client of the tunnel). Bytes from the client (OnReadDone) are written
// to the socket on gRPC's callback thread; bytes from the socket are read by one pump thread
// and handed to a TunnelWriteQueue (session/tunnel_write_queue.h): written at once from the
// pump's thread when no write is outstanding, else coalesced and written from OnWriteDone, so
// the pump never waits for a write to complete unless the client stops reading (then the
// queue's limit holds it). The session ends, once, with:
//   OK                  the client half-closed or cancelled its call (or went away);
//   INVALID_ARGUMENT    "session <id>: the tunnelled HTTP/2 connection failed (the client's
//                       bytes are not an HTTP/2 gRPC server's)": the channel's transport dropped
//                       the connection;
//   UNAVAILABLE         "latchkeyd is shutting down" (SessionManager::CloseAll).
// The session is unregistered from the SessionManager before the call's status is sent, so a
// client that sees its call end finds the session gone; the reactor is deleted in OnDone.
//
// Thread-safety: gRPC's reactions, the pump thread and the manager's close callback may run
// concurrently; they share state under mu_.
#ifndef LATCHKEY_DAEMON_SESSION_REACTOR_H_
#define LATCHKEY_DAEMON_SESSION_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/latchkey/v1/control.pb.h"
#include "base/unique_fd.h"
#include "daemon/session_manager.h"
#include "session/tunnel_write_queue.h"

namespace latchkey::daemon {

class SessionReactor final
    : public grpc::ServerBidiReactor<latchkey::v1::BytesMessage, latchkey::v1::BytesMessage> {
 public:
  // Registers `info` in `sessions` (not owned; must outlive the call) and starts the tunnel.
  // When registration fails the reactor finishes at once with that error.
  static SessionReactor* Start(SessionManager* sessions, SessionInfo info);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  explicit SessionReactor(SessionManager* sessions) : sessions_(sessions) {}
  // Ends the session with `status` (the first call wins): unregisters it (unless called from
  // the manager's close callback), shuts the tunnel socket down, and finishes the call.
  void End(const grpc::Status& status, bool unregister = true);
  void PumpToClient();

  SessionManager* sessions_;
  std::string id_;
  bool registered_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  base::UniqueFd fd_;
  latchkey::v1::BytesMessage in_;
  // Socket -> call; closed by End before Finish, so no write starts after it.
  session::TunnelWriteQueue out_{[this](const latchkey::v1::BytesMessage* m) { StartWrite(m); }};
  std::thread pump_;

  std::mutex mu_;
  bool ended_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_SESSION_REACTOR_H_
