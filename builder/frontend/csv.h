// ParseCsvRecord: one single-line CSV value, parsed exactly as BuildKit parses RUN --mount
// values (github.com/tonistiigi/go-csvvalue Fields, default parser: ',' separator, no lazy
// quotes, no space trimming; encoding/csv semantics for one record).
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BUILDER_FRONTEND_CSV_H_
#define LATCHKEY_BUILDER_FRONTEND_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::frontend {

// Splits `text` into fields at ','. A field that starts with '"' is quoted: it ends at the next
// '"' that is followed by ',' or the end; "" inside it is one '"'; it may contain ','. One
// trailing "\n" or "\r\n" is ignored; any other newline is ordinary text.
// Failures (InvalidArgument), with Go's messages exactly (columns are 1-based byte offsets):
//   EOF                                                  (empty text, or just a newline)
//   parse error on line 1, column C: bare " in non-quoted-field
//   parse error on line 1, column C: extraneous or missing " in quoted-field
Result<std::vector<std::string>> ParseCsvRecord(std::string_view text);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_CSV_H_
