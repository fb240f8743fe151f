// JSON that holds secrets (Docker's config.json, a credential helper's or a token server's
// answer) without copying any value into a std::string: the document is walked in place and
// only the wanted string is decoded, straight into a SecretBuffer; edits are byte splices
// (SecureJsonObjectLayout + SecureConcat) whose results are SecretBuffers again.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_SECURE_SECURE_JSON_H_
#define LATCHKEY_SECURE_SECURE_JSON_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

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

// Where the object at the member path `keys` and its members are in `json` (byte offsets), so
// that a caller can edit the document by splicing without decoding any value.
struct JsonObjectLayout {
  struct Member {
    std::string name;    // decoded member name (names are not secret)
    size_t key_begin;    // the key's opening '"'
    size_t value_begin;  // the value's first byte
    size_t value_end;    // one past the value's last byte
  };
  size_t open = 0;              // the object's '{'
  size_t close = 0;             // the object's '}'
  std::vector<Member> members;  // in document order
};
// NOT_FOUND / INVALID_ARGUMENT as SecureJsonKeys.
Result<JsonObjectLayout> SecureJsonObjectLayout(std::span<const uint8_t> json,
                                                const std::vector<std::string>& keys,
                                                std::string_view what);

// `text` as a JSON string literal (quotes included; '"', '\\' and control bytes escaped, other
// bytes as they are), in a sealed SecretBuffer.
Result<SecretBuffer> SecureJsonQuote(std::span<const uint8_t> text);

// The concatenation of `parts`, in a sealed SecretBuffer.
Result<SecretBuffer> SecureConcat(std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_SECURE_JSON_H_
