// SecretMatcher: the one search for secret values, used by the redactor (SecretRegistry) and the
// builder's leak scanner.
//
// It holds one Aho-Corasick automaton (LeakMatcher) over the patterns of any number of values
// (secret_patterns.h), and by pattern index the value it belongs to (`owner`, the caller's
// number), its encoding name and its base64 widening flags. Text is read once, whatever the
// number of values and forms. A caller that streams (the leak scanner: tar blocks, read chunks)
// drives automaton() with its own state; Mask and Contains take one piece of text.
//
// Masking: every byte covered by a match is replaced, one kRedactionMask per covered run, so
// overlapping matches (two values sharing bytes, a value and its hex form, a value that is a
// prefix of another) never leave a fragment behind. A base64 core's match also covers the
// character on either side that mixes in a neighbouring byte (partial_before/partial_after) when
// that character is a base64 character of either alphabet, and, after the core, up to two '='
// padding characters -- so no bit of the value stays visible.
//
// The automaton's tables spell the patterns, so they live in secure memory (LeakSecureArray); the
// pattern bytes themselves are only borrowed during Build().
//
// Thread-safety: immutable after Build(); every method is const and may run concurrently.
#ifndef LATCHKEY_SECURE_SECRET_MATCHER_H_
#define LATCHKEY_SECURE_SECRET_MATCHER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"
#include "secure/leak_matcher.h"
#include "secure/secret_patterns.h"

namespace latchkey {

inline constexpr std::string_view kRedactionMask = "****";

class SecretMatcher {
 public:
  // A pattern and the value it belongs to. `pattern` is read only during Build.
  struct Input {
    const SecretPattern* pattern;
    uint32_t owner;
  };

  // Builds the automaton; pattern i of the result is inputs[i]. `dense_budget_bytes` as in
  // LeakMatcher::Build. INVALID_ARGUMENT for an empty pattern or more than 2^31 pattern bytes;
  // RESOURCE_EXHAUSTED when secure memory runs out.
  static Result<SecretMatcher> Build(std::span<const Input> inputs,
                                     size_t dense_budget_bytes = LeakMatcher::kDefaultDenseBudget);

  SecretMatcher(SecretMatcher&&) = default;
  SecretMatcher& operator=(SecretMatcher&&) = default;

  // The automaton, for callers that feed a stream piece by piece. Its pattern indexes are the
  // indexes below.
  const LeakMatcher& automaton() const { return automaton_; }
  size_t pattern_count() const { return owner_.size(); }
  uint32_t owner(size_t pattern) const { return owner_[pattern]; }
  const char* encoding(size_t pattern) const { return encoding_[pattern]; }

  // `text` with every match masked (see the file comment).
  std::string Mask(std::string_view text) const;
  // True when `text` holds any pattern.
  bool Contains(std::string_view text) const;

 private:
  SecretMatcher() = default;

  LeakMatcher automaton_;
  std::vector<uint32_t> owner_;
  std::vector<const char*> encoding_;
  std::vector<uint8_t> widen_;  // bit 0: partial_before, bit 1: partial_after
};

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_SECRET_MATCHER_H_
