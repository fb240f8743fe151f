#include "builder/solver/copy_pathmatch.h"

#include <cstdint>
#include <vector>

#include "base/go_text.h"

namespace latchkey::build {
namespace {

Status BadPattern() { return InvalidArgumentError("syntax error in pattern"); }

// base::DecodeRune at the start of `s` (non-empty); *invalid reports an invalid byte (decoded
// as U+FFFD with length 1, like utf8.DecodeRuneInString).
char32_t DecodeRune(std::string_view s, size_t* len, bool* invalid) {
  base::DecodedRune d = base::DecodeRune(s, 0);
  *len = d.width;
  *invalid = d.rune == base::kRuneError && d.width == 1;
  return d.rune;
}

// Go's scanChunk: leading stars, then the chunk up to the next star outside a class.
void ScanChunk(std::string_view pattern, bool* star, std::string_view* chunk,
               std::string_view* rest) {
  *star = false;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    *star = true;
  }
  bool inrange = false;
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      inrange = true;
    } else if (c == ']') {
      inrange = false;
    } else if (c == '*' && !inrange) {
      break;
    }
  }
  *chunk = pattern.substr(0, i);
  *rest = pattern.substr(i);
}

// Go's getEsc: one (possibly escaped) character of a class.
Status GetEsc(std::string_view* chunk, char32_t* r) {
  std::string_view c = *chunk;
  if (c.empty() || c[0] == '-' || c[0] == ']') return BadPattern();
  if (c[0] == '\\') {
    c.remove_prefix(1);
    if (c.empty()) return BadPattern();
  }
  size_t n;
  bool invalid;
  *r = DecodeRune(c, &n, &invalid);
  if (invalid) return BadPattern();
  c.remove_prefix(n);
  if (c.empty()) return BadPattern();
  *chunk = c;
  return Status::OK();
}

// Go's matchChunk. On success *ok tells whether the chunk matched a prefix of s; *rest is the
// remainder of s. Keeps parsing after a mismatch so that syntax errors are always reported.
Status MatchChunk(std::string_view chunk, std::string_view s, std::string_view* rest, bool* ok) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          size_t n;
          bool invalid;
          r = DecodeRune(s, &n, &invalid);
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        bool negated = false;
        if (!chunk.empty() && chunk[0] == '^') {
          negated = true;
          chunk.remove_prefix(1);
        }
        bool match = false;
        int nrange = 0;
        for (;;) {
          if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
            chunk.remove_prefix(1);
            break;
          }
          char32_t lo = 0;  // GetEsc sets it on success; GCC -O3 cannot see through the macro
          LK_RETURN_IF_ERROR(GetEsc(&chunk, &lo));
          char32_t hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            LK_RETURN_IF_ERROR(GetEsc(&chunk, &hi));
          }
          if (lo <= r && r <= hi) match = true;
          ++nrange;
        }
        if (match == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] == '/') failed = true;
          size_t n;
          bool invalid;
          DecodeRune(s, &n, &invalid);
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return BadPattern();
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
        break;
    }
  }
  *ok = !failed;
  *rest = failed ? std::string_view() : s;
  return Status::OK();
}

}  // namespace

Result<bool> PathMatch(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    bool star;
    std::string_view chunk;
    ScanChunk(pattern, &star, &chunk, &pattern);
    if (star && chunk.empty()) return name.find('/') == std::string_view::npos;
    std::string_view t;
    bool ok;
    Status err = MatchChunk(chunk, name, &t, &ok);
    if (err.ok() && ok && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    if (!err.ok()) return err;
    bool next_pattern = false;
    if (star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        Status e = MatchChunk(chunk, name.substr(i + 1), &t, &ok);
        if (e.ok() && ok) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          next_pattern = true;
          break;
        }
        if (!e.ok()) return e;
      }
    }
    if (next_pattern) continue;
    // Before reporting a mismatch, check that the rest of the pattern is well-formed.
    while (!pattern.empty()) {
      ScanChunk(pattern, &star, &chunk, &pattern);
      LK_RETURN_IF_ERROR(MatchChunk(chunk, "", &t, &ok));
    }
    return false;
  }
  return name.empty();
}

bool HasMeta(std::string_view path) {
  return path.find_first_of("*?[\\") != std::string_view::npos;
}

}  // namespace latchkey::build
