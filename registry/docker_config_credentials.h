// DockerConfigCredentials: registry credentials from Docker's config.json, the file `docker
// login` writes: `auths.<host>.auth` (base64 of "user:password") or
// `auths.<host>.identitytoken`, found as Docker finds them (secure/docker_config.h, shared with
// the `dockerconfig` provider plugin). credsStore / credHelpers are not run here: the broker's
// `dockerconfig` provider runs them (docs/providers.md); an entry that only names a helper is
// NOT_FOUND.
//
// The file is read into secure memory at each Get and nothing of it is kept; values go only
// into the returned SecretBuffers. Thread-safety: Get is reentrant.
#ifndef LATCHKEY_REGISTRY_DOCKER_CONFIG_CREDENTIALS_H_
#define LATCHKEY_REGISTRY_DOCKER_CONFIG_CREDENTIALS_H_

#include <map>
#include <string>

#include "registry/credential_source.h"

namespace latchkey::registry {

class DockerConfigCredentials : public CredentialSource {
 public:
  // Reads `path` (a config.json).
  explicit DockerConfigCredentials(std::string path) : path_(std::move(path)) {}

  // The config.json Docker uses with this environment: $DOCKER_CONFIG/config.json, else
  // $HOME/.docker/config.json. `env` holds DOCKER_CONFIG and HOME (missing = unset).
  static std::string DefaultPath(const std::map<std::string, std::string>& env);

  // NOT_FOUND when the file does not exist or has no entry for `host`. INVALID_ARGUMENT
  // "docker config PATH: auths.HOST.auth is not base64 of user:password" (and the like) for a
  // malformed entry, never showing its value.
  Result<Credential> Get(std::string_view host, std::string_view repository,
                         std::string_view scope) override;
  std::string Describe() const override { return "docker config " + path_; }

 private:
  std::string path_;
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_DOCKER_CONFIG_CREDENTIALS_H_
