// AuthService: the client's moby.filesync.v1.Auth, served on a session tunnel
// (tunnel_server.h): the registry credentials a builder asks the client for when it pulls (or
// pushes) an image -- BuildKit's authprovider, which Docker's client backs with its config.json.
// latchkey answers from a lookup: for Docker Engine's BuildKit (cli/docker_build.cc) the broker
// session's `registry:<host>` secret (policy, audit first); for latchkeyd (cli/remote_build.cc)
// the client's own sources read without a broker (cli/client_registry_logins.h: the daemon's
// broker decides and audits). Only Credentials is implemented and should be advertised
// (ServedService::methods);
// BuildKit then fetches tokens itself with those credentials.
//
// Answers, as Docker's authprovider: no credential for the host (the lookup's NOT_FOUND) is an
// empty answer, and the builder goes on anonymously; an identity token is returned as Secret
// with an empty Username; any other error is the call's status (a policy refusal fails the
// pull with latchkey's text). "registry-1.docker.io", the host BuildKit asks for Docker Hub, is
// looked up as "docker.io".
//
// Where the bytes go: as SecretsService (secrets_service.h): copied into the response's string
// fields, which are wiped once gRPC is done with the message.
//
// Thread-safety: Credentials runs each lookup on a thread of its own; the destructor waits for
// lookups still running.
#ifndef LATCHKEY_SESSION_AUTH_SERVICE_H_
#define LATCHKEY_SESSION_AUTH_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "api/moby/filesync/v1/auth.grpc.pb.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"
#include "session/reply_wiping.h"

namespace latchkey::session {

// A registry login: a username and a password, or (username null) an identity token.
struct RegistryLogin {
  std::shared_ptr<const SecretBuffer> username;
  std::shared_ptr<const SecretBuffer> secret;
};

// The login for `host` ("registry.example.com:5000", "docker.io"); NOT_FOUND when there is
// none.
using RegistryLookup = std::function<Result<RegistryLogin>(const std::string& host)>;

class AuthService final : public moby::filesync::v1::Auth::CallbackService {
 public:
  explicit AuthService(RegistryLookup lookup) : lookup_(std::move(lookup)) {}

  // Credentials answered with a login (tests).
  uint64_t served() const { return served_.load(); }

  grpc::ServerUnaryReactor* Credentials(grpc::CallbackServerContext* context,
                                        const moby::filesync::v1::CredentialsRequest* request,
                                        moby::filesync::v1::CredentialsResponse* response) override;

 private:
  RegistryLookup lookup_;
  std::atomic<uint64_t> served_{0};
  LookupThreads lookups_;  // last: destroyed (waiting for lookups) before lookup_
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_AUTH_SERVICE_H_
