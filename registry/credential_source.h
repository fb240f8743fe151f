// CredentialSource: the one way the registry client obtains a registry credential. The client
// never reads a credential file, an environment variable or a helper itself; it asks its
// source, once per (host, repository, scope) it needs, and keeps what it gets only in
// SecretBuffers. The CLI's source is the broker adapter (cli/broker_registry_credentials.h: the
// secret `registry:<host>`, policy-checked and audited; docs/registry.md);
// DockerConfigCredentials (docker_config_credentials.h) reads Docker's config.json directly and
// is no longer used by the CLI (the dockerconfig provider plugin serves that lookup).
//
// Thread-safety: Get may be called from several threads at once; implementations say how
// they cope.
#ifndef LATCHKEY_REGISTRY_CREDENTIAL_SOURCE_H_
#define LATCHKEY_REGISTRY_CREDENTIAL_SOURCE_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::registry {

// A registry credential: a username and password (both non-empty), or an identity token (an
// OAuth2 refresh token for the registry's token server; username and password empty).
struct Credential {
  SecretBuffer username;
  SecretBuffer password;
  SecretBuffer identity_token;
  // Who supplied it, for error messages: "docker config /root/.docker/config.json". Never a
  // value.
  std::string source;
};

class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  // The credential for `host` ("registry.example.com:5000", "docker.io") to act with `scope`
  // ("pull", or "push" for pull and push; CredentialScope in authenticator.h) on `repository`
  // ("team/app"). NOT_FOUND when the source has
  // none (the client then goes on anonymously); any other error fails the request. Error
  // messages never contain a credential.
  virtual Result<Credential> Get(std::string_view host, std::string_view repository,
                                 std::string_view scope) = 0;
  // What the source is, for messages: "docker config /root/.docker/config.json".
  virtual std::string Describe() const = 0;
};

// A source that never has a credential (every registry is used anonymously).
class NoCredentials : public CredentialSource {
 public:
  Result<Credential> Get(std::string_view host, std::string_view, std::string_view) override {
    return NotFoundError("no credential source for " + std::string(host));
  }
  std::string Describe() const override { return "no credential source"; }
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_CREDENTIAL_SOURCE_H_
