// Reading one string out of JSON that holds secrets (Docker's config.json, a token server's
// answer) without copying any value into a std::string: the document is walked in place and
// only the wanted string is decoded, straight into a SecretBuffer.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_REGISTRY_SECURE_JSON_H_
#define LATCHKEY_REGISTRY_SECURE_JSON_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::registry {

// The string at the member path `keys` (each an object member name, from the root object),
// decoded (JSON escapes resolved) into a sealed SecretBuffer. NOT_FOUND when a member is
// missing or the value is not a string; INVALID_ARGUMENT "<what> is not valid JSON (at byte N)"
// for a malformed document. Messages never contain document bytes other than key names.
Result<SecretBuffer> SecureJsonString(std::span<const uint8_t> json,
                                      const std::vector<std::string>& keys, std::string_view what);

// The member names of the object at the member path `keys` (the root object when empty), in
// document order. Names are not secret. NOT_FOUND / INVALID_ARGUMENT as above.
Result<std::vector<std::string>> SecureJsonKeys(std::span<const uint8_t> json,
                                                const std::vector<std::string>& keys,
                                                std::string_view what);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_SECURE_JSON_H_
