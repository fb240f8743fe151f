// TunnelServer: the gRPC server of one session, serving the client's services (secrets, the
// context, ...) on an HTTP/2 connection that is already connected -- the builder side is the
// gRPC *client* of that connection, as in BuildKit. The same server runs on both of latchkey's
// session transports:
//   - latchkeyd's Control/Session (session_client.h): one end of a socketpair whose other end
//     is pumped into the call's byte stream;
//   - Docker Engine's POST /session (engine/engine_session.h): the upgraded HTTP connection
//     itself, after "101 Switching Protocols".
// Methods no service has are answered UNIMPLEMENTED (BuildKit treats that as "not found").
//
// Thread-safety: Serve and Shutdown may be called from any thread; the services are called on
// gRPC's threads concurrently and must outlive the TunnelServer.
#ifndef LATCHKEY_SESSION_TUNNEL_SERVER_H_
#define LATCHKEY_SESSION_TUNNEL_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::session {

// A service to serve on the session and its full protobuf name
// ("moby.buildkit.secrets.v1.Secrets"), from which the advertised method list is derived (the
// generated descriptor pool knows a service once its generated code is linked in, which holds
// for any service an instance of which is passed here).
struct ServedService {
  grpc::Service* service = nullptr;
  std::string full_name;
  // The methods advertised ("Credentials"); empty: all the service's. A builder calls only
  // the methods a session advertises, so a service that implements some of its methods
  // advertises those (the others answer UNIMPLEMENTED).
  std::vector<std::string> methods = {};
};

class TunnelServer {
 public:
  // A started server with `services` and no listening port. INVALID_ARGUMENT for a service
  // name the descriptor pool does not know (MethodNames); INTERNAL "session <id>: cannot start
  // the tunnel's gRPC server".
  static Result<std::unique_ptr<TunnelServer>> Start(const std::string& session_id,
                                                     const std::vector<ServedService>& services);
  ~TunnelServer();
  TunnelServer(const TunnelServer&) = delete;
  TunnelServer& operator=(const TunnelServer&) = delete;

  // Serves the HTTP/2 connection on `fd` (a connected stream socket; made non-blocking here).
  // gRPC takes ownership of the descriptor and closes it when the connection ends.
  void Serve(base::UniqueFd fd);

  // Stops the server: calls still running get `grace`, then are cancelled. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(1));

  // The "/<service>/<method>" names served (sorted): what the session advertises.
  const std::vector<std::string>& methods() const { return methods_; }

  // The "/<service>/<method>" names of `services` (sorted). INVALID_ARGUMENT "session: unknown
  // service <name> (not in the generated protobuf descriptors)", "session: service <name> has
  // no method <method>".
  static Result<std::vector<std::string>> MethodNames(const std::vector<ServedService>& services);

 private:
  TunnelServer() = default;

  std::vector<std::string> methods_;
  // Answers UNIMPLEMENTED for every method no registered service has; also gives a server
  // without services something to serve.
  grpc::CallbackGenericService unknown_methods_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  bool shut_down_ = false;
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_TUNNEL_SERVER_H_
