// `latchkey login` / `latchkey logout`: Docker's login, with Docker's storage. A login is
// verified against the registry first (RegistryClient::CheckLogin, with the typed credential
// only), then stored where Docker would store it (secure/docker_config.h):
//   - through the credential helper the Docker config names for the host (credHelpers, else
//     credsStore): `docker-credential-<name> store`, plus an empty `auths` entry so that logout
//     knows the host (as Docker writes it);
//   - else in config.json `auths` as base64 user:password, after Docker's warning on stderr:
//     "WARNING! Your password will be stored unencrypted in <path>." and the helper hint.
// Logout erases through the helper (`erase`) and removes the `auths` entries for the host.
// The password lives only in SecretBuffers; the file is edited in secure memory.
//
// Thread-safety: no shared state; the functions read and replace the Docker config file.
#ifndef LATCHKEY_CLI_REGISTRY_LOGIN_H_
#define LATCHKEY_CLI_REGISTRY_LOGIN_H_

#include <ostream>
#include <string>

#include "broker/config.h"
#include "latchkey/status.h"
#include "registry/credential_source.h"
#include "registry/http_transport.h"
#include "secure/secret_buffer.h"

namespace latchkey::cli {

// Docker's warning before a password is written to config.json in plain text (to stderr).
std::string UnencryptedWarning(const std::string& path);

// A credential typed at `latchkey login`, as the registry client's CredentialSource: every Get
// answers it (copies), Describe is "latchkey login (user USER)".
class TypedCredential : public registry::CredentialSource {
 public:
  TypedCredential(std::string username, SecretBuffer password)
      : username_(std::move(username)), password_(std::move(password)) {}
  Result<registry::Credential> Get(std::string_view host, std::string_view repository,
                                   std::string_view scope) override;
  std::string Describe() const override { return "latchkey login (user " + username_ + ")"; }
  const std::string& username() const { return username_; }
  const SecretBuffer& password() const { return password_; }

 private:
  std::string username_;
  SecretBuffer password_;
};

// Checks `credential` against `host` with GET /v2/ over `transport` and the configuration's
// per-host TLS settings. Errors are RegistryClient::CheckLogin's: UNAUTHENTICATED "registry
// HOST: 401 Unauthorized: the credential from latchkey login (user U) was rejected", UNAVAILABLE
// "cannot reach registry HOST: ...".
Status VerifyLogin(registry::HttpTransport& transport, const Config& config,
                   const std::string& host, TypedCredential& credential);

// Stores a verified login for `host` in the Docker config at `config_path` (see above);
// `warnings` receives Docker's warning when the password goes to the file. Errors name the
// helper or the file, never the password.
Status StoreLogin(const std::string& config_path, const std::string& host,
                  const TypedCredential& credential, std::ostream& warnings);

// `latchkey logout SERVER`: "Removing login credentials for HOST" (to `out`) and the erase, or
// "Not logged in to HOST" when the config has no `auths` entry for it. Helper failures are
// reported on `warnings` as Docker does ("WARNING: could not erase credentials:" then
// "KEY: <error>" lines) and leave that entry in place.
Status Logout(const std::string& config_path, const std::string& server, std::ostream& out,
              std::ostream& warnings);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REGISTRY_LOGIN_H_
