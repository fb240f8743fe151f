// SecretsService: the client's moby.buildkit.secrets.v1.Secrets, served on a session tunnel
// (tunnel_server.h) and answering the builder's GetSecret either from values held in
// SecretBuffers (Add: the CLI of a latchkeyd build) or from a lookup function asked per request
// (the CLI of a Docker Engine build: its broker session decides, audits and fetches).
//
// Where the bytes go: the value is copied from its SecretBuffer into the response's `data`
// field (a std::string inside the protobuf message: the generated API forces that one copy),
// gRPC serializes the response when the handler finishes, and the reactor wipes the string in
// OnDone, before the framework frees the message. The serialized copy in gRPC's send buffers
// and the kernel's socket buffers are outside our reach (docs/daemon.md, "What is not done").
//
// Answers, as BuildKit's secretsprovider: an unknown id is NOT_FOUND "not found" (the daemon
// turns it into "secret <id>: not found"); a value over kMaxSecretSize is never stored (Add
// refuses it).
//
// A lookup runs on a thread of its own per request (a provider fetch may block); its errors
// become the call's status: NOT_FOUND as "not found" (BuildKit: "secret <id>: not found", and an
// optional mount is skipped), every other code with its message (BuildKit fails the step with
// it, so a policy refusal reaches the build's error output).
//
// Thread-safety: Add before serving; GetSecret is called from gRPC's threads concurrently. The
// destructor waits for lookups still running.
#ifndef LATCHKEY_SESSION_SECRETS_SERVICE_H_
#define LATCHKEY_SESSION_SECRETS_SERVICE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api/moby/buildkit/secrets/v1/secrets.grpc.pb.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"
#include "session/reply_wiping.h"

namespace latchkey::session {

// BuildKit's limit (secretsprovider.MaxSecretSize): 500 KiB; exactly 512000 bytes is allowed.
inline constexpr size_t kMaxSecretSize = 512000;

// Answers one GetSecret: the value (null or empty: an empty secret) or an error. `annotations`
// are the request's (BuildKit may name the step there).
using SecretLookup = std::function<Result<std::shared_ptr<const SecretBuffer>>(
    const std::string& id, const std::map<std::string, std::string>& annotations)>;

class SecretsService final : public moby::buildkit::secrets::v1::Secrets::CallbackService {
 public:
  SecretsService() = default;
  // Every GetSecret asks `lookup` (Add is then not used).
  explicit SecretsService(SecretLookup lookup) : lookup_(std::move(lookup)) {}

  // Serves `value` for `id`. INVALID_ARGUMENT for an empty id ("secret missing ID", as
  // BuildKit) or a value over kMaxSecretSize ("secret <id> too big. max size 500KiB");
  // ALREADY_EXISTS for an id added twice ("secret <id> is already served by this session").
  Status Add(const std::string& id, std::shared_ptr<const SecretBuffer> value);

  // How many GetSecret calls were answered with a value (tests, progress).
  uint64_t served() const { return served_.load(); }

  grpc::ServerUnaryReactor* GetSecret(
      grpc::CallbackServerContext* context,
      const moby::buildkit::secrets::v1::GetSecretRequest* request,
      moby::buildkit::secrets::v1::GetSecretResponse* response) override;

 private:
  std::map<std::string, std::shared_ptr<const SecretBuffer>> values_;
  SecretLookup lookup_;
  std::atomic<uint64_t> served_{0};
  LookupThreads lookups_;  // last: destroyed (waiting for lookups) before lookup_
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_SECRETS_SERVICE_H_
