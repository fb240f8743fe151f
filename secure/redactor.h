// Redactor: replaces every active secret value in a piece of text by "****".
//
// Sessions register each value they hand out (SecretRegistry) and unregister it when they
// close. Anything that writes text a person or a log shipper will see -- the operational log
// (logging.h), a build step's stdout/stderr -- passes it through Redact() first. Each value is
// matched raw and in the encodings a careless script is likely to print (EncodedForms: base64
// in both alphabets at every alignment, lower- and upper-case hex), and so is each credential
// part of a structured value (secret_parts.h: an .npmrc token, a URL's password, a JSON `auth`,
// a PEM body...) with its encodings. A base64 match is widened over the one character on either
// side that mixes in a neighbouring byte, and over trailing '=' padding, so no bit of the value
// stays visible. The encoded forms and parts are derived secrets, so they are held in
// SecretBuffers too.
//
// Thread-safety: every method is thread-safe. Redact() takes a shared lock; Add/Remove take
// it exclusively.
#ifndef LATCHKEY_SECURE_REDACTOR_H_
#define LATCHKEY_SECURE_REDACTOR_H_

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "secure/secret_buffer.h"

namespace latchkey {

inline constexpr std::string_view kRedactionMask = "****";

// One encoded form of a value.
struct EncodedForm {
  SecretBuffer bytes;    // sealed
  const char* encoding;  // "base64", "base64url", "hex" or "HEX" (a string literal)
  // base64 only: the character just before / just after `bytes` in an encoding of a longer
  // string also depends on the value (it mixes in bits of a neighbouring byte).
  bool partial_before = false;
  bool partial_after = false;
};

class SecretRegistry {
 public:
  // The process-wide registry used by the operational log and the builder. Never destroyed.
  static SecretRegistry& Global();

  SecretRegistry() = default;
  SecretRegistry(const SecretRegistry&) = delete;
  SecretRegistry& operator=(const SecretRegistry&) = delete;

  // Registers `value` (shared, so it stays alive while registered) and returns a handle for
  // Remove. Empty values are accepted and never match. Fails only when secure memory for the
  // encoded forms runs out.
  Result<uint64_t> Add(std::shared_ptr<const SecretBuffer> value);
  // Unregisters a handle from Add; unknown handles are ignored.
  void Remove(uint64_t handle);
  // Number of registered values.
  size_t size() const;

  // Returns `text` with every registered value (and its encodings) replaced by "****".
  std::string Redact(std::string_view text) const;
  // True when `text` contains any registered value or encoding.
  bool Contains(std::string_view text) const;

 private:
  struct Entry {
    std::shared_ptr<const SecretBuffer> raw;
    std::vector<SecretBuffer> parts;
    std::vector<EncodedForm> encodings;  // of the raw value and of every part
  };
  // Calls fn(pattern, form) for every non-empty pattern (form is null for a raw value or part);
  // lock held by the caller.
  template <typename Fn>
  void ForEachPattern(Fn&& fn) const;

  mutable std::shared_mutex mu_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
};

// Base64 is searched at every alignment: for the value preceded by 0, 1 or 2 unknown bytes
// (`printf 'user:%s' "$v" | base64`, how Docker's config.json `auth` is made), the encoded
// core -- the characters that depend on the value's bytes alone -- in the standard and the
// URL-safe alphabet (a URL-safe core is listed only when it differs). A core covers the whole
// encoding except at most one character at either end (and '=' padding), so it matches padded
// and unpadded encodings alike. Cores shorter than kMinBase64CoreLength characters are left out
// (they would match ordinary text). Then lower- and upper-case hex. Each form is sealed. Used by
// the redactor and by the builder's leak scanner.
inline constexpr size_t kMinBase64CoreLength = 4;
Result<std::vector<EncodedForm>> EncodedForms(std::span<const uint8_t> value);

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_REDACTOR_H_
