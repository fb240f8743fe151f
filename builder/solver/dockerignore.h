// .dockerignore: which files of the build context a build may see, exactly as Docker decides it
// (moby/buildkit frontend/dockerignore.ReadAll + moby/patternmatcher).
//
// Syntax, per line: lines starting with '#' are comments; each line is trimmed, blank lines are
// skipped; a leading '!' makes the pattern an exception (re-includes); the pattern is cleaned
// like Go's filepath.Clean and a leading '/' is dropped. '*' matches any run of non-'/'
// characters, '?' one, '[...]' a class, '\\' escapes, and '**' any number of directories
// ("**/*.go", "docs/**"). A pattern that matches a directory excludes everything below it. The
// last pattern that matches a path decides.
//
// Thread-safety: an IgnoreMatcher is immutable after Parse/Load; const methods may be called
// from any number of threads.
#ifndef LATCHKEY_BUILDER_SOLVER_DOCKERIGNORE_H_
#define LATCHKEY_BUILDER_SOLVER_DOCKERIGNORE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::build {

class IgnoreMatcher {
 public:
  // Matches nothing.
  IgnoreMatcher() = default;

  // Parses .dockerignore text. Errors: INVALID_ARGUMENT
  // "<filename>:<line>: invalid pattern \"<p>\": <why>", e.g.
  // `.dockerignore:3: invalid pattern "!": "!" must be followed by a pattern` or
  // `.dockerignore:1: invalid pattern "[a": syntax error in pattern`.
  static Result<IgnoreMatcher> Parse(std::string_view text,
                                     std::string_view filename = ".dockerignore");

  // Reads <dockerfile_path>.dockerignore when that file exists (BuildKit's per-Dockerfile
  // ignore file), else <context_dir>/.dockerignore when it exists, else returns an empty
  // matcher. Read and parse errors name the file.
  static Result<IgnoreMatcher> Load(const std::string& context_dir,
                                    const std::string& dockerfile_path);

  // `rel_path`: slash-separated, relative to the context root, cleaned ("a/b"). True when the
  // path is excluded, by itself or by a parent directory pattern, with later '!' exceptions
  // honoured exactly like patternmatcher.MatchesOrParentMatches.
  bool Excluded(std::string_view rel_path) const;

  // True when some exception pattern could re-include a path below the directory `rel_dir` (or
  // the directory itself): a walker must then descend into the excluded directory and check
  // each entry. Conservative: may say true when nothing below ends up included.
  bool MayIncludeUnder(std::string_view rel_dir) const;

  // True when there are no patterns.
  bool empty() const { return patterns_.empty(); }

 private:
  enum class MatchType { kExact, kPrefix, kSuffix, kRegexp };
  // One element of patternmatcher's regexp translation of a pattern.
  struct Token {
    enum Kind { kLiteral, kStar, kAnyChar, kClass, kAnyDirs, kRest };
    Kind kind = kLiteral;
    char literal = 0;                                   // kLiteral
    bool negated = false;                               // kClass
    std::vector<std::pair<char32_t, char32_t>> ranges;  // kClass
  };
  struct Pattern {
    std::string cleaned;            // without the '!'
    std::vector<std::string> dirs;  // cleaned split at '/'
    bool exclusion = false;         // a '!' pattern
    MatchType type = MatchType::kExact;
    std::vector<Token> tokens;  // only for kRegexp, matched anchored at both ends
  };
  static Result<Pattern> Compile(std::string text);
  static bool Match(const Pattern& p, std::string_view path);
  static bool MatchTokens(const std::vector<Token>& tokens, std::string_view s);

  std::vector<Pattern> patterns_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_DOCKERIGNORE_H_
