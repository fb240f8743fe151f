// SessionClient: the client end of a daemon session (docs/daemon.md, "Session protocol").
//
// Opens latchkey.v1.Control/Session on a channel to latchkeyd, with the session's id, name,
// shared key and served methods in BuildKit's metadata keys (metadata.h), and serves gRPC
// services (SecretsService, ...) on the tunnelled HTTP/2 connection: this side is the gRPC
// *server* of the tunnel, the daemon its client, as with BuildKit.
//
//   socketpair: [server end] <- TunnelServer (tunnel_server.h: a gRPC server without ports)
//               [pump end]   <- two threads: stream -> socket, socket -> stream
//
// The session lasts until Close(), the destructor, or the daemon ending the call (its status is
// then what Wait() returns). The services must outlive the SessionClient.
//
// Thread-safety: Close/Wait may be called from any thread, once each is enough; the
// destructor Closes.
#ifndef LATCHKEY_SESSION_SESSION_CLIENT_H_
#define LATCHKEY_SESSION_SESSION_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "base/unique_fd.h"
#include "latchkey/status.h"
#include "session/tunnel_server.h"

namespace latchkey::session {

struct SessionOptions {
  std::string id;          // required; unique among the daemon's open sessions
  std::string name;        // display name
  std::string shared_key;  // BuildKit's shared key; may be empty
};

class SessionClient {
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

  std::string id_;
  std::unique_ptr<latchkey::v1::Control::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<latchkey::v1::BytesMessage, latchkey::v1::BytesMessage>>
      stream_;
  std::unique_ptr<TunnelServer> server_;
  base::UniqueFd pump_fd_;
  std::thread to_socket_;  // stream -> socket; ends when the daemon's side of the call ends
  std::thread to_stream_;  // socket -> stream; ends when the tunnel server's socket ends
  std::mutex mu_;
  bool finished_ = false;
  Status final_;
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_SESSION_CLIENT_H_
