#include "engine/engine_session.h"

#include <sys/socket.h>

#include "engine/engine_client.h"
#include "engine/http_conn.h"
#include "session/metadata.h"

namespace latchkey::engine {

Result<std::unique_ptr<EngineSession>> EngineSession::Open(
    const std::string& address, const std::string& api_prefix, const EngineSessionOptions& options,
    const std::vector<session::ServedService>& services) {
  if (options.id.empty()) return InvalidArgumentError("session: the session id is empty");
  std::unique_ptr<EngineSession> s(new EngineSession());
  s->id_ = options.id;
  LK_ASSIGN_OR_RETURN(s->server_, session::TunnelServer::Start(options.id, services));
  LK_ASSIGN_OR_RETURN(HttpConnection conn, HttpConnection::Connect(address));
  std::vector<std::string> headers = {"Upgrade: h2c", "Connection: Upgrade",
                                      "X-Docker-Expose-Session-Uuid: " + options.id};
  if (!options.name.empty()) headers.push_back("X-Docker-Expose-Session-Name: " + options.name);
  if (!options.shared_key.empty()) {
    headers.push_back("X-Docker-Expose-Session-Sharedkey: " + options.shared_key);
  }
  for (const auto& m : s->server_->methods()) {
    headers.push_back("X-Docker-Expose-Session-Grpc-Method: " + m);
  }
  LK_RETURN_IF_ERROR(conn.WriteRequest("POST", api_prefix + "/session", headers));
  LK_ASSIGN_OR_RETURN(HttpResponseHead head, conn.ReadHead());
  if (head.status != 101) {
    Result<std::string> read = conn.ReadAllBody(64 * 1024);
    std::string body = read.ok() ? *read : "";
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    if (auto j = nlohmann::json::parse(body, nullptr, false);
        j.is_object() && j.contains("message")) {
      body = j["message"].is_string() ? j["message"].get<std::string>() : body;
    }
    return UnknownError("Docker Engine at " + address +
                        ": POST /session: " + (body.empty() ? head.reason : body) + " (HTTP " +
                        std::to_string(head.status) + ")");
  }
  s->peer_.address = address;
  if (address.rfind("unix://", 0) == 0) {
    s->peer_.transport = "unix";
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn.fd(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      s->peer_.uid = cred.uid;
      s->peer_.gid = cred.gid;
      s->peer_.pid = cred.pid;
    }
  } else {
    s->peer_.transport = "tcp";
  }
  s->server_->Serve(conn.TakeSocket());
  return s;
}

void EngineSession::Close() {
  if (server_ != nullptr) server_->Shutdown();
}

EngineSession::~EngineSession() { Close(); }

}  // namespace latchkey::engine
