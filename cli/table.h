// Column-aligned text tables as docker prints them (`docker images`, `docker system df`):
// every column as wide as its widest cell, three spaces between columns, no trailing blanks.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_CLI_TABLE_H_
#define LATCHKEY_CLI_TABLE_H_

#include <string>
#include <vector>

namespace latchkey::cli {

// `rows` (the header first, if any) as lines ending in "\n". Rows may have different lengths;
// a column's width counts the rows that have it. Widths are in bytes.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_TABLE_H_
