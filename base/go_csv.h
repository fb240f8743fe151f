// Go's CSV readers, for flag values that must parse exactly as the Go tools parse them. Two
// dialects exist in the Go ecosystem and latchkey must match each where it is used:
//
//   ReadCsvRecord   encoding/csv csv.Reader.Read (Comma ',', no lazy quotes): the docker CLI's
//                   --secret flag. Skips leading empty lines, a quoted field may span lines,
//                   reading stops after the first record.
//   CsvValueFields  github.com/tonistiigi/go-csvvalue Fields (default parser): BuildKit's RUN
//                   --mount values. One record: one trailing "\n" or "\r\n" is ignored, any
//                   other newline is ordinary text.
//
// Both: ',' separates fields; a field that starts with '"' is quoted, ends at the next '"' that
// is followed by ',' or the end, may contain ',', and "" inside it is one '"'; spaces are kept.
// Failures are INVALID_ARGUMENT with Go's messages exactly (columns are 1-based byte offsets):
//   EOF                                                  (no record)
//   parse error on line L, column C: bare " in non-quoted-field
//   parse error on line L, column C: extraneous or missing " in quoted-field
// ReadCsvRecord prefixes "record on line R; " when the record started on an earlier line.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BASE_GO_CSV_H_
#define LATCHKEY_BASE_GO_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::base {

// The first record of `input`, as encoding/csv's Reader.Read returns it.
Result<std::vector<std::string>> ReadCsvRecord(std::string_view input);

// The fields of the single record `text`, as go-csvvalue's Fields returns them.
Result<std::vector<std::string>> CsvValueFields(std::string_view text);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_GO_CSV_H_
