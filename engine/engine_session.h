// EngineSession: a BuildKit session opened on Docker Engine (POST /session), the second
// transport of latchkey's session (session/tunnel_server.h; the first is latchkeyd's
// Control/Session, session/session_client.h).
//
//   POST /session HTTP/1.1
//   Upgrade: h2c
//   Connection: Upgrade
//   X-Docker-Expose-Session-Uuid: <id>
//   X-Docker-Expose-Session-Name: <name>
//   X-Docker-Expose-Session-Sharedkey: <key>
//   X-Docker-Expose-Session-Grpc-Method: /moby.buildkit.secrets.v1.Secrets/GetSecret   (one per
//   method served)
//
// After "101 Switching Protocols" the connection carries HTTP/2 on which the Engine is the
// gRPC client and latchkey the server: the socket is handed to the TunnelServer. The Engine's
// BuildKit checks the session's health (grpc.health.v1.Health/Check) every second and drops a
// session that does not answer, so the server also serves gRPC's health service.
//
// Thread-safety: Close may be called from any thread; the destructor closes.
#ifndef LATCHKEY_ENGINE_ENGINE_SESSION_H_
#define LATCHKEY_ENGINE_ENGINE_SESSION_H_

#include <memory>
#include <string>
#include <vector>

#include "latchkey/status.h"
#include "session/tunnel_server.h"

namespace latchkey::engine {

struct EngineSessionOptions {
  std::string id;          // required: the session id POST /build?session= names
  std::string name;        // display name (BuildKit: the context's base name)
  std::string shared_key;  // BuildKit's shared key
};

// Who is at the other end of the session: for a unix socket, the Engine's credentials
// (SO_PEERCRED); for TCP, its address.
struct EnginePeer {
  std::string transport;  // "unix" or "tcp"
  int64_t uid = -1, gid = -1, pid = -1;
  std::string address;  // the Engine address the session was opened on
};

class EngineSession {
 public:
  // Opens the session at `address` (EngineClient's forms; `api_prefix` "/v1.41") and serves
  // `services` on it. Errors: TunnelServer::Start's, HttpConnection's ("cannot reach Docker
  // Engine at ..."), and for an answer other than 101 "Docker Engine at <address>: POST
  // /session: <message> (HTTP <status>)" (UNKNOWN or as EngineClient maps the status).
  static Result<std::unique_ptr<EngineSession>> Open(
      const std::string& address, const std::string& api_prefix,
      const EngineSessionOptions& options, const std::vector<session::ServedService>& services);
  ~EngineSession();
  EngineSession(const EngineSession&) = delete;
  EngineSession& operator=(const EngineSession&) = delete;

  // Ends the session: stops the server, which closes the connection (the Engine ends the
  // session; a build still using it fails). Idempotent.
  void Close();

  const std::string& id() const { return id_; }
  const EnginePeer& peer() const { return peer_; }

 private:
  EngineSession() = default;
  std::string id_;
  EnginePeer peer_;
  std::unique_ptr<session::TunnelServer> server_;
};

}  // namespace latchkey::engine

#endif  // LATCHKEY_ENGINE_ENGINE_SESSION_H_
