// Go's path matching and cleaning, as BuildKit uses them for COPY/ADD wildcards and for
// .dockerignore patterns: PathMatch is path/filepath.Match on Linux, CleanSlashPath is
// path.Clean. Byte-exact ports, so that `COPY *.txt` and a .dockerignore line select the same
// files latchkey as under BuildKit.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_SOLVER_COPY_PATHMATCH_H_
#define LATCHKEY_BUILDER_SOLVER_COPY_PATHMATCH_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::build {

// filepath.Match(pattern, name): '*' any run of non-'/' bytes, '?' one non-'/' character,
// '[...]' a class ('^' negates, 'a-z' ranges), '\\' escapes the next character. A malformed
// pattern (unterminated or empty class, trailing '\\', bad range) gives INVALID_ARGUMENT
// "syntax error in pattern" (Go's ErrBadPattern text), even when the name does not match.
Result<bool> PathMatch(std::string_view pattern, std::string_view name);

// True when `path` holds a character that makes PathMatch differ from string equality
// ('*', '?', '[' or '\\'), like Go's filepath hasMeta on Linux.
bool HasMeta(std::string_view path);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_COPY_PATHMATCH_H_
