#include "daemon/session_registry_auth.h"

#include <sodium.h>

#include <span>

#include "api/moby/filesync/v1/auth.grpc.pb.h"
#include "secure/docker_config.h"
#include "session/secrets_service.h"

namespace latchkey::daemon {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Wipes a response field when it goes out of scope.
struct WipeOnExit {
  std::string* s;
  ~WipeOnExit() {
    sodium_memzero(s->data(), s->size());
    s->clear();
  }
};

}  // namespace

Result<SecretBuffer> SessionRegistryAuth::Credentials(
    const std::string& host, std::chrono::steady_clock::time_point deadline) const {
  moby::filesync::v1::CredentialsRequest req;
  req.set_host(host == "docker.io" ? "registry-1.docker.io" : host);
  moby::filesync::v1::CredentialsResponse resp;
  WipeOnExit wipe_user{resp.mutable_username()};
  WipeOnExit wipe_secret{resp.mutable_secret()};
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(
                       deadline - std::chrono::steady_clock::now()));
  grpc::Status st = moby::filesync::v1::Auth::NewStub(channel_)->Credentials(&ctx, req, &resp);
  if (!st.ok()) {
    if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return NotFoundError("the latchkeyd client has no login for " + host);
    }
    return Status(static_cast<StatusCode>(st.error_code()),
                  "session " + session_id_ + ": Credentials " + host + ": " + st.error_message());
  }
  const std::string& user = resp.username();
  const std::string& secret = resp.secret();
  if (secret.empty()) return NotFoundError("the latchkeyd client has no login for " + host);
  if (user.size() + secret.size() > session::kMaxSecretSize) {
    return ResourceExhaustedError("registry login for " + host + " from session " + session_id_ +
                                  ": " + std::to_string(user.size() + secret.size()) +
                                  " bytes is over the " + std::to_string(session::kMaxSecretSize) +
                                  "-byte limit");
  }
  static const std::string kToken = "<token>";  // docker-credential-helpers' identity token
  LK_ASSIGN_OR_RETURN(
      SecretBuffer json,
      docker_config::CredentialJson(host, Bytes(user.empty() ? kToken : user), Bytes(secret)));
  json.Seal();
  return json;
}

}  // namespace latchkey::daemon
