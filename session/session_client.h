// SessionClient: the client end of a daemon session (docs/daemon.md, "Session protocol").
//
// Opens latchkey.v1.Control/Session on a channel to latchkeyd, with the session's id, name,
// shared key and served methods in BuildKit's metadata keys (metadata.h), and serves gRPC
// services (SecretsService, ...) on the tunnelled HTTP/2 connection: this side is the gRPC
// *server* of the tunnel, the daemon its client, as with BuildKit.
//
//   socketpair: [server end] <- TunnelServer (tunnel_server.h: a gRPC server without ports)
//               [pump end]   <- stream -> socket: the call's OnReadDone, on gRPC's thread
//                               socket -> stream: one pump thread and a TunnelWriteQueue
//                               (written at once when no write is outstanding, else coalesced)
//
// The call uses gRPC's callback API, so a message from the daemon is written to the socket by
// the thread that read it from the connection, and the pump never waits for a write to
// complete (docs/daemon.md, "Session protocol").
//
// The session lasts until Close(), the destructor, or the daemon ending the call (its status is
// then what Wait() returns). The services must outlive the SessionClient.
//
// Thread-safety: Close/Wait may be called from any thread, once each is enough; the
// destructor Closes.
#ifndef LATCHKEY_SESSION_SESSION_CLIENT_H_
#define LATCHKEY_SESSION_SESSION_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "base/unique_fd.h"
#include "latchkey/status.h"
#include "session/tunnel_server.h"
#include "session/tunnel_write_queue.h"

namespace latchkey::session {

struct SessionOptions {
  std::string id;          // required; unique among the daemon's open sessions
  std::string name;        // display name
  std::string shared_key;  // BuildKit's shared key; may be empty
};

class SessionClient final
    : private grpc::ClientBidiReactor<latchkey::v1::BytesMessage, latchkey::v1::BytesMessage> {
 public:
  // Opens the session on `daemon` and starts serving `services`. INVALID_ARGUMENT for an empty
  // id or a service name the generated descriptor pool does not know; INTERNAL when the tunnel
  // server cannot start. The daemon's answer (e.g. ALREADY_EXISTS for a duplicate id) arrives
  // as the call's status: see Wait().
  static Result<std::unique_ptr<SessionClient>> Open(std::shared_ptr<grpc::Channel> daemon,
                                                     const SessionOptions& options,
                                                     const std::vector<ServedService>& services);
  ~SessionClient();
  SessionClient(const SessionClient&) = delete;
  SessionClient& operator=(const SessionClient&) = delete;

  // Ends the session: cancels the call, stops the tunnel server, joins the pumps. Idempotent.
  void Close();

  // Blocks until the daemon ends the call or Close() runs; returns the call's final status
  // ("session <id>: <code>: <message>" for an error; CANCELLED after Close()).
  Status Wait();

  const std::string& id() const { return id_; }

  // The "/<service>/<method>" names advertised for `services` (TunnelServer::MethodNames).
  static Result<std::vector<std::string>> MethodNames(const std::vector<ServedService>& services) {
    return TunnelServer::MethodNames(services);
  }

 private:
  SessionClient() = default;
  void Finish();
  // The call's reactions (gRPC's threads).
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;
  // socket -> stream, on pump_; holds the call open (AddHold) until the socket ends.
  void Pump();

  std::string id_;
  std::unique_ptr<latchkey::v1::Control::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<TunnelServer> server_;
  base::UniqueFd pump_fd_;
  latchkey::v1::BytesMessage in_;
  TunnelWriteQueue out_{[this](const latchkey::v1::BytesMessage* m) { StartWrite(m); },
                        [this] { StartWritesDone(); }};
  std::thread pump_;  // ends when the tunnel server's socket ends
  bool started_ = false;

  std::mutex finish_mu_;  // one Finish at a time
  bool finished_ = false;
  Status final_;

  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;  // OnDone ran: gRPC is finished with the call
  grpc::Status status_;
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_SESSION_CLIENT_H_
