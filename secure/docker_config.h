// Docker's config.json, the file `docker login` writes, and Docker's way of finding a registry
// credential in it: `auths.<key>.auth` (base64 of "user:password") or
// `auths.<key>.identitytoken`, `credHelpers.<key>` (a credential helper per registry) and
// `credsStore` (the helper for every registry). One implementation shared by the `dockerconfig`
// provider plugin, the registry client's DockerConfigCredentials and `latchkey login`/`logout`.
//
// Keys are matched as Docker matches them: "host", "https://host", "http://host" (with or
// without a path such as "/v1/"); for docker.io also "index.docker.io" and
// "registry-1.docker.io" in any of those forms. Docker's own key for Docker Hub is
// "https://index.docker.io/v1/" (ServerKey).
//
// The file holds credentials, so it is read only into secure memory and edited by splicing
// bytes (secure_json.h); no value ever enters a std::string or a message. Names of keys and
// helpers are not secret.
//
// Thread-safety: pure functions, except that Read and Write touch the file system.
#ifndef LATCHKEY_SECURE_DOCKER_CONFIG_H_
#define LATCHKEY_SECURE_DOCKER_CONFIG_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::docker_config {

// The config.json Docker uses with this environment: $DOCKER_CONFIG/config.json, else
// $HOME/.docker/config.json. `env` holds DOCKER_CONFIG and HOME (missing = unset).
std::string DefaultPath(const std::map<std::string, std::string>& env);

// The whole file, in a sealed SecretBuffer. NOT_FOUND "docker config PATH does not exist";
// INVALID_ARGUMENT "docker config PATH is larger than 4 MiB"; other errors name the path.
Result<SecretBuffer> Read(const std::string& path);

// Replaces the file with `bytes` atomically, mode 0600, creating its directory (0700) when
// missing, as Docker does.
Status Write(const std::string& path, std::span<const uint8_t> bytes);

// The registry host a user or a key names: the scheme and any path are dropped
// ("https://reg:5000/v1/" -> "reg:5000"); "index.docker.io" and "registry-1.docker.io" are
// "docker.io".
std::string NormalizeHost(std::string_view server);

// Whether the config key `key` stands for `host` (a NormalizeHost'd host).
bool KeyMatches(std::string_view key, std::string_view host);

// The key Docker stores `host`'s credential under: "https://index.docker.io/v1/" for docker.io,
// else the host itself. This is also the server URL a credential helper is asked about.
std::string ServerKey(std::string_view host);

// The `auths` keys that stand for `host`: the exact key first, then the others KeyMatches
// accepts, in document order. Empty when the file has no `auths` or no such key.
// INVALID_ARGUMENT "docker config PATH is not valid JSON (at byte N)" (`what` is
// "docker config PATH").
Result<std::vector<std::string>> AuthsKeys(std::span<const uint8_t> file, std::string_view host,
                                           std::string_view what);

// A credential: username + password, or an identity token (username and password empty).
struct Auth {
  SecretBuffer username;
  SecretBuffer password;
  SecretBuffer identity_token;
};

// `host`'s credential from `auths` (an identitytoken is preferred over auth, as Docker does).
// NOT_FOUND "WHAT has no credential for HOST"; INVALID_ARGUMENT
// "WHAT: auths.KEY.auth is not base64 of user:password", never showing the value.
Result<Auth> AuthsCredential(std::span<const uint8_t> file, std::string_view host,
                             std::string_view what);

// The credential helper Docker would use for `host`.
struct Helper {
  std::string name;    // "pass" for docker-credential-pass; empty: no helper, use `auths`
  std::string origin;  // "credHelpers" or "credsStore"
};
// credHelpers' entry for `host` (KeyMatches) first, then credsStore. INVALID_ARGUMENT
// "WHAT: credHelpers.KEY must be a helper name such as \"pass\"" for a non-string or a name
// with characters other than [A-Za-z0-9._-].
Result<Helper> HelperFor(std::span<const uint8_t> file, std::string_view host,
                         std::string_view what);

// The JSON a docker-credential helper prints and `store` reads:
// {"ServerURL":"<server_url>","Username":"<username>","Secret":"<secret>"}.
Result<SecretBuffer> CredentialJson(std::string_view server_url, std::span<const uint8_t> username,
                                    std::span<const uint8_t> secret);
// The same for `auth`: an identity token is Username "<token>" and Secret the token (Docker's
// convention).
Result<SecretBuffer> CredentialJson(std::string_view server_url, const Auth& auth);

// Reads that JSON back: Username "<token>" makes Secret an identity token. NOT_FOUND "WHAT has
// no credential" when both are missing or empty (docker-credential-pass answers an unknown
// server so); INVALID_ARGUMENT "WHAT has no Username/Secret" when only one is (never showing
// the value), "WHAT is not a JSON object" or "WHAT is not valid JSON (at byte N)".
Result<Auth> ParseCredentialJson(std::span<const uint8_t> json, std::string_view what);

// `file` (empty: a new file, "{}") with auths[key] set to the object `entry` (raw JSON, e.g.
// {"auth":"..."} or {}); other members are left byte for byte as they were.
Result<SecretBuffer> SetAuthsEntry(std::span<const uint8_t> file, std::string_view key,
                                   std::span<const uint8_t> entry, std::string_view what);
// `file` without the auths members named `keys` (missing ones are ignored).
Result<SecretBuffer> RemoveAuthsEntries(std::span<const uint8_t> file,
                                        const std::vector<std::string>& keys,
                                        std::string_view what);

// The `auth` entry Docker writes for a password login: {"auth":"<base64 user:password>"}.
Result<SecretBuffer> BasicAuthEntry(std::span<const uint8_t> username,
                                    std::span<const uint8_t> password);

}  // namespace latchkey::docker_config

#endif  // LATCHKEY_SECURE_DOCKER_CONFIG_H_
