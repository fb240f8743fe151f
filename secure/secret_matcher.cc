#include "secure/secret_matcher.h"

#include <algorithm>

namespace latchkey {
namespace {

constexpr uint8_t kWidenBefore = 1;
constexpr uint8_t kWidenAfter = 2;

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '-' || c == '_';
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<SecretMatcher> SecretMatcher::Build(std::span<const Input> inputs,
                                           size_t dense_budget_bytes) {
  SecretMatcher m;
  std::vector<std::span<const uint8_t>> spans;
  spans.reserve(inputs.size());
  for (const Input& in : inputs) {
    spans.push_back(in.pattern->bytes.bytes());
    m.owner_.push_back(in.owner);
    m.encoding_.push_back(in.pattern->encoding);
    m.widen_.push_back(static_cast<uint8_t>((in.pattern->partial_before ? kWidenBefore : 0) |
                                            (in.pattern->partial_after ? kWidenAfter : 0)));
  }
  LK_ASSIGN_OR_RETURN(m.automaton_, LeakMatcher::Build(spans, dense_budget_bytes));
  return m;
}

std::string SecretMatcher::Mask(std::string_view text) const {
  std::vector<bool> covered;
  automaton_.Feed(LeakMatcher::kStart, Bytes(text), [&](size_t pattern, size_t end) {
    if (covered.empty()) covered.assign(text.size(), false);
    size_t begin = end - automaton_.pattern_length(pattern);
    const uint8_t widen = widen_[pattern];
    if ((widen & kWidenBefore) != 0 && begin > 0 && IsBase64Char(text[begin - 1])) --begin;
    if ((widen & kWidenAfter) != 0) {
      if (end < text.size() && IsBase64Char(text[end])) ++end;
      for (int i = 0; i < 2 && end < text.size() && text[end] == '='; ++i) ++end;
    }
    std::fill(covered.begin() + static_cast<ptrdiff_t>(begin),
              covered.begin() + static_cast<ptrdiff_t>(end), true);
  });
  if (covered.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!covered[i]) {
      out.push_back(text[i++]);
      continue;
    }
    while (i < text.size() && covered[i]) ++i;
    out.append(kRedactionMask);
  }
  return out;
}

bool SecretMatcher::Contains(std::string_view text) const {
  bool found = false;
  automaton_.Feed(LeakMatcher::kStart, Bytes(text), [&](size_t, size_t) { found = true; });
  return found;
}

}  // namespace latchkey
