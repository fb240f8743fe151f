#include "broker/glob.h"

#include <utility>

namespace latchkey {

Result<Glob> Glob::Compile(std::string_view pattern) {
  Glob g;
  g.pattern_ = std::string(pattern);
  auto fail = [&](const char* cause) {
    return InvalidArgumentError("invalid glob \"" + std::string(pattern) + "\": " + cause);
  };
  size_t i = 0;
  const size_t n = pattern.size();
  while (i < n) {
    char c = pattern[i];
    Token t;
    if (c == '\\') {
      if (i + 1 >= n) return fail("trailing backslash");
      t.op = Op::kLiteral;
      t.literal = pattern[i + 1];
      i += 2;
    } else if (c == '?') {
      t.op = Op::kAnyChar;
      ++i;
    } else if (c == '*') {
      size_t j = i;
      while (j < n && pattern[j] == '*') ++j;
      if (j - i == 1) {
        t.op = Op::kStar;
      } else if (j < n && pattern[j] == '/' && (i == 0 || pattern[i - 1] == '/')) {
        t.op = Op::kDirs;  // "**/" at the start of a segment: zero or more directories
        ++j;
      } else {
        t.op = Op::kDoubleStar;
      }
      i = j;
    } else if (c == '[') {
      size_t j = i + 1;
      t.op = Op::kClass;
      if (j < n && (pattern[j] == '!' || pattern[j] == '^')) {
        t.negate = true;
        ++j;
      }
      bool first = true;
      bool closed = false;
      while (j < n) {
        char lo = pattern[j];
        if (lo == ']' && !first) {
          closed = true;
          ++j;
          break;
        }
        first = false;
        if (lo == '\\') {
          if (j + 1 >= n) return fail("trailing backslash");
          lo = pattern[++j];
        }
        ++j;
        char hi = lo;
        if (j + 1 < n && pattern[j] == '-' && pattern[j + 1] != ']') {
          hi = pattern[j + 1];
          if (hi == '\\') {
            if (j + 2 >= n) return fail("trailing backslash");
            hi = pattern[j + 2];
            ++j;
          }
          j += 2;
          if (static_cast<unsigned char>(hi) < static_cast<unsigned char>(lo)) {
            return fail("character range out of order");
          }
        }
        t.ranges.emplace_back(static_cast<unsigned char>(lo), static_cast<unsigned char>(hi));
      }
      if (!closed) return fail("unterminated '['");
      i = j;
    } else {
      t.op = Op::kLiteral;
      t.literal = c;
      ++i;
    }
    g.tokens_.push_back(std::move(t));
  }
  return g;
}

bool Glob::ClassMatches(const Token& t, unsigned char c) {
  if (c == '/') return false;
  bool in = false;
  for (const auto& [lo, hi] : t.ranges) {
    if (c >= lo && c <= hi) {
      in = true;
      break;
    }
  }
  return in != t.negate;
}

bool Glob::Match(std::string_view text) const {
  // next[j]: tokens_[i+1..] match text[j..]; cur[j]: tokens_[i..] match text[j..].
  const size_t n = text.size();
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;  // empty pattern matches only empty text
  for (size_t ti = tokens_.size(); ti-- > 0;) {
    const Token& t = tokens_[ti];
    cur[n] = (t.op == Op::kStar || t.op == Op::kDoubleStar || t.op == Op::kDirs) ? next[n] : 0;
    bool slash_then_rest = false;  // for kDirs: some '/' at k >= j with next[k+1]
    for (size_t j = n; j-- > 0;) {
      unsigned char c = static_cast<unsigned char>(text[j]);
      switch (t.op) {
        case Op::kLiteral:
          cur[j] = (c == static_cast<unsigned char>(t.literal)) && next[j + 1];
          break;
        case Op::kAnyChar:
          cur[j] = c != '/' && next[j + 1];
          break;
        case Op::kClass:
          cur[j] = ClassMatches(t, c) && next[j + 1];
          break;
        case Op::kStar:
          cur[j] = next[j] || (c != '/' && cur[j + 1]);
          break;
        case Op::kDoubleStar:
          cur[j] = next[j] || cur[j + 1];
          break;
        case Op::kDirs:
          if (c == '/' && next[j + 1]) slash_then_rest = true;
          cur[j] = next[j] || slash_then_rest;
          break;
      }
    }
    std::swap(cur, next);
  }
  return next[0] != 0;
}

}  // namespace latchkey
