#include "registry/helper_credential.h"

#include <string>

#include "secure/secure_json.h"

namespace latchkey::registry {

Result<Credential> ParseHelperCredential(std::span<const uint8_t> json, std::string_view what) {
  const std::string prefix = std::string(what) + " is not a credential helper's answer: ";
  auto field = [&](const char* key) -> Result<SecretBuffer> {
    auto v = SecureJsonString(json, {key}, what);
    if (v.ok()) return v;
    if (v.status().code() == StatusCode::kNotFound) {
      return InvalidArgumentError(prefix + "it has no \"" + key + "\" string");
    }
    return InvalidArgumentError(prefix + v.status().message());
  };
  LK_ASSIGN_OR_RETURN(SecretBuffer secret, field("Secret"));
  LK_ASSIGN_OR_RETURN(SecretBuffer username, field("Username"));
  if (secret.empty()) {
    return InvalidArgumentError(std::string(what) + " has an empty \"Secret\"");
  }
  Credential c;
  constexpr std::string_view kToken = "<token>";
  if (username.Equals({reinterpret_cast<const uint8_t*>(kToken.data()), kToken.size()})) {
    c.identity_token = std::move(secret);
  } else {
    c.username = std::move(username);
    c.password = std::move(secret);
  }
  return c;
}

}  // namespace latchkey::registry
