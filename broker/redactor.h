// Redactor: replaces every active secret value in a piece of text by "****".
//
// Sessions register each value they hand out (SecretRegistry) and unregister it when they
// close. Anything that writes text a person or a log shipper will see -- the operational log
// (logging.h), a build step's stdout/stderr -- passes it through Redact() first. Each value is
// matched raw and in the encodings a careless script is likely to print: standard and URL-safe
// base64 (padded and unpadded) and lower- and upper-case hex. The encoded forms are derived
// secrets, so they are held in SecretBuffers too.
//
// Thread-safety: every method is thread-safe. Redact() takes a shared lock; Add/Remove take
// it exclusively.
#ifndef LATCHKEY_BROKER_REDACTOR_H_
#define LATCHKEY_BROKER_REDACTOR_H_

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/secret_buffer.h"

namespace latchkey {

inline constexpr std::string_view kRedactionMask = "****";

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
    std::vector<SecretBuffer> encodings;
  };
  // Calls fn(pattern) for every non-empty pattern; lock held by the caller.
  template <typename Fn>
  void ForEachPattern(Fn&& fn) const;

  mutable std::shared_mutex mu_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
};

// Returns the standard base64, URL-safe base64 (both padded and unpadded, when they differ)
// and lower/upper hex forms of `value`, each in a sealed SecretBuffer. Used by the redactor and
// by the builder's leak scanner.
Result<std::vector<SecretBuffer>> EncodedForms(std::span<const uint8_t> value);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_REDACTOR_H_
