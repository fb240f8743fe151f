// Glob: shell-style patterns for policy rules (secret ids, users, label values, Dockerfile and
// context paths).
//
// Syntax (documented for users in docs/policy.md):
//   *       any run of characters except '/'
//   **      any run of characters, '/' included
//   **/     zero or more whole directories ("a/**/b" matches "a/b" and "a/x/y/b")
//   ?       one character except '/'
//   [abc]   one character from the set; ranges "[a-z]"; "[!a-z]" or "[^a-z]" negates;
//           a ']' right after '[' (or '[!') is literal; never matches '/'
//   \c      the character c, literally
// Everything else matches itself. A pattern matches only the whole text.
//
// Thread-safety: a compiled Glob is immutable; Match is const and safe from many threads.
#ifndef LATCHKEY_BROKER_GLOB_H_
#define LATCHKEY_BROKER_GLOB_H_

#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey {

class Glob {
 public:
  // Compiles `pattern`. Fails (INVALID_ARGUMENT) with "invalid glob \"<pattern>\": <cause>"
  // for an unterminated '[' or a trailing '\'.
  static Result<Glob> Compile(std::string_view pattern);

  // True when the whole of `text` matches. O(pattern tokens * text length).
  bool Match(std::string_view text) const;

  // The pattern as written.
  const std::string& pattern() const { return pattern_; }

 private:
  enum class Op { kLiteral, kAnyChar, kStar, kDoubleStar, kDirs, kClass };
  struct Token {
    Op op;
    char literal = 0;
    bool negate = false;
    // For kClass: inclusive ranges [lo, hi]; single characters have lo == hi.
    std::vector<std::pair<unsigned char, unsigned char>> ranges;
  };
  Glob() = default;
  static bool ClassMatches(const Token& t, unsigned char c);

  std::string pattern_;
  std::vector<Token> tokens_;
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_GLOB_H_
