// Secret patterns: every form of a secret value that redaction and the leak guard search for.
//
// Per value: the raw bytes; its EncodedForms (base64 cores in the standard and URL-safe alphabet
// at all three alignments, lower- and upper-case hex); its URL percent-encoding (RFC 3986
// unreserved characters kept, everything else %XX) with upper- and lower-case hex digits, each
// only when it differs from the raw value and from the other; and the same again for every
// credential part of the value (secret_parts.h: an .npmrc token, a URL's password, a JSON
// `auth`, a PEM body...). The redactor (SecretRegistry) and the builder's leak scanner both take
// exactly this list and search it with one SecretMatcher, so what the leak guard finds in a
// layer is also what the log masks.
//
// Every pattern is a derived secret: it exists only in a sealed SecretBuffer.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_SECURE_SECRET_PATTERNS_H_
#define LATCHKEY_SECURE_SECRET_PATTERNS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

// One encoded form of a value.
struct EncodedForm {
  SecretBuffer bytes;    // sealed
  const char* encoding;  // "base64", "base64url", "hex" or "HEX" (a string literal)
  // base64 only: the character just before / just after `bytes` in an encoding of a longer
  // string also depends on the value (it mixes in bits of a neighbouring byte).
  bool partial_before = false;
  bool partial_after = false;
};

// Base64 is searched at every alignment: for the value preceded by 0, 1 or 2 unknown bytes
// (`printf 'user:%s' "$v" | base64`, how Docker's config.json `auth` is made), the encoded
// core -- the characters that depend on the value's bytes alone -- in the standard and the
// URL-safe alphabet (a URL-safe core is listed only when it differs). A core covers the whole
// encoding except at most one character at either end (and '=' padding), so it matches padded
// and unpadded encodings alike. Cores shorter than kMinBase64CoreLength characters are left out
// (they would match ordinary text). Then lower- and upper-case hex (upper only when it differs).
// Each form is sealed. INTERNAL when libsodium cannot start, RESOURCE_EXHAUSTED when secure
// memory runs out.
inline constexpr size_t kMinBase64CoreLength = 4;
Result<std::vector<EncodedForm>> EncodedForms(std::span<const uint8_t> value);

// One searchable form of a value or of one of its parts.
struct SecretPattern {
  SecretBuffer bytes;  // sealed, never empty
  // "raw", "base64", "base64url", "hex", "HEX" or "url"; for a credential part the same with
  // "part " in front ("part raw", "part base64", ...). A string literal.
  const char* encoding;
  // As in EncodedForm (base64 cores only).
  bool partial_before = false;
  bool partial_after = false;
};

// The patterns of `value`, in this order: the value raw, its encoded forms, its URL forms, then
// for each credential part (DeriveSecretParts order) the same. None for an empty value. Errors
// as EncodedForms.
Result<std::vector<SecretPattern>> SecretPatterns(std::span<const uint8_t> value);

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_SECRET_PATTERNS_H_
