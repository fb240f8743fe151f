// SessionRegistryAuth: a latchkeyd build's registry logins asked from its client over the
// build's session -- BuildKit's authprovider call, moby.filesync.v1.Auth/Credentials, which
// the client serves from its own credentials (session/auth_service.h). The daemon's broker
// calls it as the provider "client" of `registry:<host>` (SessionAttributes::client_registry,
// broker/session.h: policy decides, the record is written first, the daemon's own source
// is the fallback when the client has no login).
//
//   Credentials  CredentialsRequest{Host}: the image reference's host, except Docker Hub's
//                "docker.io", asked as "registry-1.docker.io" (the host BuildKit names; the
//                client maps it back). The answer becomes a credential helper's JSON
//                ({"ServerURL": host, "Username", "Secret"}; an identity token, an empty
//                Username, becomes Username "<token>"), built in secure memory; the response's
//                copies are wiped. Errors:
//                  NOT_FOUND "the latchkeyd client has no login for <host>": an empty answer,
//                            or a client that does not serve Auth (UNIMPLEMENTED);
//                  RESOURCE_EXHAUSTED "registry login for <host> from session <sid>: <n>
//                            bytes is over the 512000-byte limit";
//                  otherwise the call's code with "session <sid>: Credentials <host>:
//                            <message>" (the client's refusal, UNAVAILABLE when it went away,
//                            DEADLINE_EXCEEDED after the deadline).
//
// Thread-safety: Credentials may be called concurrently; the channel is gRPC's.
#ifndef LATCHKEY_DAEMON_SESSION_REGISTRY_AUTH_H_
#define LATCHKEY_DAEMON_SESSION_REGISTRY_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::daemon {

// The method a session advertises when its client serves registry logins.
inline constexpr const char* kAuthCredentialsMethod = "/moby.filesync.v1.Auth/Credentials";

class SessionRegistryAuth {
 public:
  SessionRegistryAuth(std::string session_id, std::shared_ptr<grpc::Channel> channel)
      : session_id_(std::move(session_id)), channel_(std::move(channel)) {}

  Result<SecretBuffer> Credentials(const std::string& host,
                                   std::chrono::steady_clock::time_point deadline) const;

 private:
  const std::string session_id_;
  const std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_SESSION_REGISTRY_AUTH_H_
