// The registry credential format the broker serves for `registry:<host>`: the JSON a Docker
// credential helper prints for `docker-credential-<name> get`,
//   {"ServerURL": "<host>", "Username": "<user>", "Secret": "<password>"}
// where the Username "<token>" means Secret is an identity token (an OAuth2 refresh token for
// the registry's token server), as Docker reads it. Parsed in secure memory: no value is copied
// into a std::string.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_REGISTRY_HELPER_CREDENTIAL_H_
#define LATCHKEY_REGISTRY_HELPER_CREDENTIAL_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "latchkey/status.h"
#include "registry/credential_source.h"

namespace latchkey::registry {

// The Credential in `json` (source left empty). `what` names the value in messages ("secret
// registry:reg.example from provider file (/etc/cred.json)"). Errors (INVALID_ARGUMENT, never
// quoting the value):
//   "<what> is not a credential helper's answer: <what> is not valid JSON (at byte N)"
//   "<what> is not a credential helper's answer: it has no \"Secret\" string"
//   "<what> is not a credential helper's answer: it has no \"Username\" string"
//   "<what> has an empty \"Secret\""
Result<Credential> ParseHelperCredential(std::span<const uint8_t> json, std::string_view what);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_HELPER_CREDENTIAL_H_
