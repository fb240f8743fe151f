// Docker's credential helper protocol (docker-credential-helpers): `docker-credential-<name>
// get|store|erase` found in $PATH, the request on stdin, the answer on stdout. `get` reads the
// server URL and prints {"ServerURL","Username","Secret"}; `store` reads that JSON; `erase`
// reads the server URL. A helper that fails prints its error on stdout and exits non-zero;
// "credentials not found in native keychain" is the one error that means "no credential".
// Shared by the `dockerconfig` provider plugin (get) and `latchkey login`/`logout` (store,
// erase).
//
// What a helper prints is read only into secure memory. Error messages name the helper and
// quote its error text (at most 200 bytes of its first line), never an answer that looks like
// a credential (one starting with '{'). The helper inherits the caller's environment (pass and
// the secretservice helpers need PASSWORD_STORE_DIR, GNUPGHOME, DBUS_SESSION_BUS_ADDRESS ...).
//
// Thread-safety: reentrant; each call runs its own process.
#ifndef LATCHKEY_SECURE_DOCKER_CREDENTIAL_HELPER_H_
#define LATCHKEY_SECURE_DOCKER_CREDENTIAL_HELPER_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "latchkey/status.h"
#include "secure/docker_config.h"
#include "secure/secret_buffer.h"

namespace latchkey::docker_config {

// Polled while the helper runs (every 100 ms); a non-OK status kills the helper (SIGKILL) and
// is returned as it is. Null: wait for as long as the helper takes.
using KeepGoing = std::function<Status()>;

// Which helper, for messages: "docker-credential-pass (credsStore of /h/.docker/config.json)".
struct HelperRef {
  std::string name;    // "pass"
  std::string origin;  // "credsStore of /h/.docker/config.json"
  std::string Describe() const { return "docker-credential-" + name + " (" + origin + ")"; }
};

// `get` for `server_url` (ServerKey(host)). NOT_FOUND "credential helper HELPER has no
// credential for SERVER" when the helper says "credentials not found" or answers an empty
// Username and Secret; FAILED_PRECONDITION
// "credential helper HELPER is not installed: docker-credential-NAME: executable file not
// found in $PATH" when it is missing; UNAVAILABLE "credential helper HELPER failed (exit
// status N): <its message>" for other failures; INVALID_ARGUMENT "credential helper HELPER
// printed an answer that has no Username/Secret" for a bad answer.
Result<Auth> HelperGet(const HelperRef& helper, std::string_view server_url,
                       const KeepGoing& keep_going);

// `store` of `credential_json` (CredentialJson). Errors as HelperGet's (no NOT_FOUND).
Status HelperStore(const HelperRef& helper, std::span<const uint8_t> credential_json,
                   const KeepGoing& keep_going);

// `erase` of `server_url`. NOT_FOUND as HelperGet; other errors as HelperGet's.
Status HelperErase(const HelperRef& helper, std::string_view server_url,
                   const KeepGoing& keep_going);

}  // namespace latchkey::docker_config

#endif  // LATCHKEY_SECURE_DOCKER_CREDENTIAL_HELPER_H_
