// Secret parts: the credentials inside a structured secret value.
//
// A step that mounts an .npmrc can `grep _authToken | cut -d= -f2` and write or print the token
// alone, which a search for the whole file never finds. So the redactor, the leak scanner and
// the audit record also take the *parts* of each value, found by these rules (docs/builder.md
// lists them with their limits):
//   - `KEY=VALUE` and `KEY: VALUE` lines (quotes around VALUE dropped; lines starting with '#',
//     ';', '"', '{', '[' or "-----" skipped): the value when KEY ends with a credential name
//     (`_authToken`, `_auth`, `_password`, `password`, `aws_secret_access_key`,
//     `aws_session_token`, `token`, `secret`; case-insensitive) and is at least
//     kMinSecretPartLength bytes, or any other value of at least kMinGenericPartLength bytes that
//     is not a URL (a URL's password is its own rule). An `_auth` value is base64 of
//     "user:password" and a `_password` value base64 of the password: their decoded password is
//     a part too.
//   - .netrc: the token after each `password` token.
//   - URLs: the password of `scheme://user:password@host` (and its percent-decoded form).
//   - JSON: the string value of a key named `auth`, `identitytoken`, `registrytoken`, or ending
//     in `token`, `secret`, `password` or `key` (case-insensitive), as written and unescaped;
//     Docker's `auth` (base64 of "user:password") also gives its decoded password.
//   - PEM: each `-----BEGIN ...-----` ... `-----END ...-----` block, each body line of at least
//     16 bytes and the body joined into one line (also inside an unescaped JSON string).
// Only text values have parts: a value holding a control character other than tab, CR and LF
// has none. Parts shorter than kMinSecretPartLength, parts equal to the whole value and repeats are
// dropped; at most kMaxSecretParts parts are kept per value.
//
// Parts are derived secrets: they exist only in sealed SecretBuffers. Key names are compared in
// place and never copied.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_SECURE_SECRET_PARTS_H_
#define LATCHKEY_SECURE_SECRET_PARTS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

inline constexpr size_t kMinSecretPartLength = 4;
inline constexpr size_t kMinGenericPartLength = 8;
inline constexpr size_t kMaxSecretParts = 1024;

struct SecretPart {
  const char* rule;    // "key", "netrc", "url", "json", "pem" (a string literal)
  SecretBuffer value;  // sealed
};

// The parts of `value`, in order of first appearance. Fails only when secure memory runs out.
Result<std::vector<SecretPart>> DeriveSecretParts(std::span<const uint8_t> value);

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_SECRET_PARTS_H_
