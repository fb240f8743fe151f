#include "registry/docker_config_credentials.h"

#include "secure/docker_config.h"

namespace latchkey::registry {

std::string DockerConfigCredentials::DefaultPath(const std::map<std::string, std::string>& env) {
  return docker_config::DefaultPath(env);
}

Result<Credential> DockerConfigCredentials::Get(std::string_view host, std::string_view,
                                                std::string_view) {
  const std::string what = Describe();
  auto file = docker_config::Read(path_);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {
      return NotFoundError(what + " has no credential for " + std::string(host));
    }
    return file.status();
  }
  LK_ASSIGN_OR_RETURN(docker_config::Auth a,
                      docker_config::AuthsCredential(file->bytes(), host, what));
  Credential c;
  c.source = what;
  c.username = std::move(a.username);
  c.password = std::move(a.password);
  c.identity_token = std::move(a.identity_token);
  return c;
}

}  // namespace latchkey::registry
