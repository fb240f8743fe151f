// ShellLex: Dockerfile word processing (quote removal, escapes, variable expansion and word
// splitting), reimplementing BuildKit's frontend/dockerfile/shell/lex.go.
//
// Supported syntax:
//   $v  ${v}                      value of v ("" when unset)
//   ${v:-w} ${v-w}                w when v is unset (":" also when empty), else v
//   ${v:+w} ${v+w}                w when v is set (":" and non-empty), else ""
//   ${v:?msg} ${v?msg}            error "<v>: <msg>" when unset (":" also when empty)
//   ${v#pat} ${v##pat}            remove shortest / longest matching prefix
//   ${v%pat} ${v%%pat}            remove shortest / longest matching suffix
//   ${v/pat/rep} ${v//pat/rep}    replace first / every match
//   'single quotes'               literal, no expansion, no escapes
//   "double quotes"               group; $ expands; the escape token escapes " $ and itself
//   <escape>c                     literal c (escape token is '\' or '`', per Dockerfile)
// Patterns are shell globs: '*' any string, '?' one character, '\*' '\?' '\\' literals
// (like BuildKit, bracket expressions are literal text, not character classes).
//
// Errors carry BuildKit's exact text, wrapped as BuildKit wraps them:
//   failed to process "<word>": <cause>
// where <cause> is e.g. "unsupported modifier (:x) in substitution", "v: is not allowed to be
// unset", "syntax error: missing '}'", "syntax error: bad substitution".
//
// Limits (hostile input must fail with a message, not exhaust the stack or memory):
//   * ${...} words nest at most kMaxExpansionDepth deep: deeper fails with
//     "variable expansion nested more than 64 levels deep";
//   * one expansion (and every part of it, ${v/p/r} included) yields at most
//     kMaxExpansionBytes: more fails with "the result of variable expansion exceeds 4 MiB".
// Words longer than 256 bytes are quoted in errors by their first 256 bytes and "...".
//
// Variable names follow BuildKit: letters, digits and '_'; a name starting with a digit is all
// the digits; one special parameter character (@ * # ? - $ ! 0) is a name by itself.
//
// Thread-safety: a ShellLex is immutable after construction; its const methods may be called
// concurrently (each call keeps its own scanning state).
#ifndef LATCHKEY_BUILDER_FRONTEND_SHELL_LEX_H_
#define LATCHKEY_BUILDER_FRONTEND_SHELL_LEX_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::frontend {

// The variables visible to an expansion: name -> value. Names are case-sensitive (Linux
// semantics). A present key with an empty value is "set but empty" (matters for ":-" vs "-").
using VarMap = std::map<std::string, std::string, std::less<>>;

inline constexpr int kMaxExpansionDepth = 64;
inline constexpr size_t kMaxExpansionBytes = size_t{4} << 20;

// Builds a VarMap from "KEY=value" strings (BuildKit BuildEnvs): the first '=' splits; an entry
// without '=' maps to ""; a later duplicate key overwrites an earlier one.
VarMap VarMapFromEnvList(const std::vector<std::string>& env);

// Result of one expansion.
struct WordResult {
  std::string result;               // the processed word, quotes removed, spaces kept
  std::vector<std::string> words;   // the same text split into words (see ProcessWords)
  std::set<std::string> matched;    // variable names looked up and found in the VarMap
  std::set<std::string> unmatched;  // variable names looked up and not found
};

struct ShellLexOptions {
  char escape_token = '\\';  // '\\' or '`' (the "# escape=" directive)
  // Keep quote characters in the output (heredoc bodies). Default: quotes are removed.
  bool raw_quotes = false;
  // Keep escape characters in the output as well as the escaped character.
  bool raw_escapes = false;
  // Treat ' and " as ordinary characters (no quote processing at all).
  bool skip_process_quotes = false;
  // Leave references to unset variables as written ("$v", "${v}", "${v:-w}", ...).
  bool skip_unset_env = false;
};

class ShellLex {
 public:
  explicit ShellLex(char escape_token = '\\');
  explicit ShellLex(ShellLexOptions options);

  const ShellLexOptions& options() const { return options_; }

  // Expands `word` into one string: quotes removed, escapes applied, variables substituted,
  // whitespace between words kept. Fails with InvalidArgument and the message described at
  // the top of this file.
  Result<std::string> ProcessWord(std::string_view word, const VarMap& vars) const;

  // Expands `word` and splits it into words at unquoted, unescaped whitespace. Whitespace that
  // comes from a variable's value also splits (like BuildKit, and unlike a real shell, no
  // globbing happens). Quoted empty strings do not produce an empty word.
  Result<std::vector<std::string>> ProcessWords(std::string_view word, const VarMap& vars) const;

  // Like ProcessWord, but also returns the split words and which variables were referenced.
  Result<WordResult> ProcessWordWithMatches(std::string_view word, const VarMap& vars) const;

 private:
  ShellLexOptions options_;
};

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_SHELL_LEX_H_
