#include "builder/frontend/suggest.h"

#include <algorithm>
#include <cstdint>

#include "base/edit_distance.h"
#include "base/go_text.h"

namespace latchkey::frontend {
namespace {

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

std::string Suggest(std::string_view word, const std::vector<std::string>& candidates,
                    bool case_sensitive) {
  std::string val = case_sensitive ? std::string(word) : base::AsciiLower(word);
  std::string match;
  size_t min_dist = 3;  // BuildKit: "same as hcl"
  for (const std::string& candidate : candidates) {
    std::string opt = case_sensitive ? candidate : base::AsciiLower(candidate);
    if (val == opt) return "";  // an exact match means the error was not a misspelling
    size_t dist = base::EditDistance(val, opt);
    if (dist < min_dist) {
      min_dist = dist;
      if (case_sensitive) {
        match = opt;
      } else if (word == base::AsciiLower(word)) {
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
