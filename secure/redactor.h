// Redactor: replaces every active secret value in a piece of text by "****".
//
// Sessions register each value they hand out (SecretRegistry) and unregister it when they
// close. Anything that writes text a person or a log shipper will see -- the operational log
// (logging.h), a build step's stdout/stderr -- passes it through Redact() first. Each value is
// matched in every form of secret_patterns.h -- raw, base64 at every alignment and in both
// alphabets, lower- and upper-case hex, URL percent-encoding, and the same for each credential
// part of a structured value (secret_parts.h) -- the very list the builder's leak guard searches
// layers for. All forms of all registered values are searched in one pass by one SecretMatcher
// (an Aho-Corasick automaton) and masked as SecretMatcher::Mask describes (overlaps leave no
// fragment; a base64 match is widened over the neighbouring character that mixes in the value
// and over '=' padding). Add and Remove only mark the automaton out of date; the next Redact or
// Contains rebuilds it once, however many values came and went (a session registers its values
// one fetch at a time and unregisters them all at close). The patterns are derived secrets, so
// they are held in SecretBuffers, and the automaton's tables in secure memory too.
//
// Should that rebuild fail (secure memory exhausted), the registry errs on the safe side: after
// only removals it keeps using the previous automaton (which still masks the removed values);
// when a value was added, Redact returns "****" for the whole text and Contains returns true.
// The next call tries again.
//
// Thread-safety: every method is thread-safe. Redact() and Contains() take a shared lock (an
// exclusive one for the rebuild); Add/Remove take it exclusively.
#ifndef LATCHKEY_SECURE_REDACTOR_H_
#define LATCHKEY_SECURE_REDACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"
#include "secure/secret_matcher.h"
#include "secure/secret_patterns.h"

namespace latchkey {

class SecretRegistry {
 public:
  // The process-wide registry used by the operational log and the builder. Never destroyed.
  static SecretRegistry& Global();

  // How the registry builds its automaton: SecretMatcher::Build's signature. Tests wrap the
  // real one to inject the failure the file comment describes.
  using MatcherBuilder =
      std::function<Result<SecretMatcher>(std::span<const SecretMatcher::Input>, size_t)>;

  SecretRegistry() = default;
  // Builds through `build` instead of SecretMatcher::Build (fault injection in tests).
  explicit SecretRegistry(MatcherBuilder build) : build_(std::move(build)) {}
  SecretRegistry(const SecretRegistry&) = delete;
  SecretRegistry& operator=(const SecretRegistry&) = delete;

  // Registers `value` (shared, so it stays alive while registered) and returns a handle for
  // Remove. Empty values are accepted and never match. Fails only when secure memory for the
  // value's patterns runs out (RESOURCE_EXHAUSTED); the registry is then unchanged.
  Result<uint64_t> Add(std::shared_ptr<const SecretBuffer> value);
  // Unregisters a handle from Add; unknown handles are ignored.
  void Remove(uint64_t handle);
  // Number of registered values.
  size_t size() const;

  // Returns `text` with every registered value (and its encodings) replaced by "****".
  std::string Redact(std::string_view text) const;
  // True when `text` contains any registered value or encoding.
  bool Contains(std::string_view text) const;
  // The length of the longest suffix of `text` that is the beginning (a proper prefix) of a
  // registered value or encoding: the bytes a writer that must emit now, before more text
  // arrives, keeps back so that a value split there is never shown in part. 0 when nothing
  // could start there. Compares every form's prefixes with the suffixes of `text` (cost
  // proportional to the number of forms times their length; meant for the rare flush on an idle
  // pipe, not every write).
  size_t PartialMatchLength(std::string_view text) const;

 private:
  struct Entry {
    std::shared_ptr<const SecretBuffer> raw;
    std::vector<SecretPattern> patterns;  // SecretPatterns(*raw)
  };
  // The automaton over every entry's patterns, rebuilt first when out of date; null when there
  // is nothing to search for. An error when it had to be rebuilt for an added value and could
  // not be (see the file comment).
  Result<std::shared_ptr<const SecretMatcher>> Current() const;

  mutable std::shared_mutex mu_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
  // Guarded by mu_. matcher_ searches entries_ unless stale_; added_ records that a value was
  // added since it was built (so the old one is not a superset).
  mutable std::shared_ptr<const SecretMatcher> matcher_;
  mutable bool stale_ = false;
  mutable bool added_ = false;
  MatcherBuilder build_;  // empty: SecretMatcher::Build
};

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_REDACTOR_H_
