#include "builder/frontend/suggest.h"

#include <algorithm>
#include <cstdint>

namespace latchkey::frontend {
namespace {

// Splits UTF-8 into code points; each invalid byte is one unit of its own.
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool valid = len != 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (!valid) {
      out.push_back(0x110000u + c);  // outside Unicode: distinct from any real code point
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

size_t LevenshteinDistance(std::string_view a, std::string_view b) {
  std::vector<uint32_t> x = CodePoints(a);
  std::vector<uint32_t> y = CodePoints(b);
  std::vector<size_t> row(y.size() + 1);
  for (size_t j = 0; j <= y.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= x.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= y.size(); ++j) {
      size_t up = row[j];
      size_t cost = x[i - 1] == y[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[y.size()];
}

std::string Suggest(std::string_view word, const std::vector<std::string>& candidates,
                    bool case_sensitive) {
  std::string val = case_sensitive ? std::string(word) : AsciiLower(word);
  std::string match;
  size_t min_dist = 3;  // BuildKit: "same as hcl"
  for (const std::string& candidate : candidates) {
    std::string opt = case_sensitive ? candidate : AsciiLower(candidate);
    if (val == opt) return "";  // an exact match means the error was not a misspelling
    size_t dist = LevenshteinDistance(val, opt);
    if (dist < min_dist) {
      min_dist = dist;
      if (case_sensitive) {
        match = opt;
      } else if (word == AsciiLower(word)) {
        match = opt;
      } else if (word == AsciiUpper(word)) {
        match = AsciiUpper(opt);
      } else {
        match = opt;  // BuildKit keeps the (lower-cased) option as compared
      }
    }
  }
  return match;
}

std::string WithSuggestion(std::string message, std::string_view word,
                           const std::vector<std::string>& candidates, bool case_sensitive) {
  std::string match = Suggest(word, candidates, case_sensitive);
  if (match.empty()) return message;
  message += " (did you mean ";
  message += match;
  message += "?)";
  return message;
}

}  // namespace latchkey::frontend
