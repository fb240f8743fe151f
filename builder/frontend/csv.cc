#include "builder/frontend/csv.h"

namespace latchkey::frontend {
namespace {

Status CsvError(size_t pos, std::string_view what) {
  return InvalidArgumentError("parse error on line 1, column " + std::to_string(pos + 1) + ": " +
                              std::string(what));
}

constexpr std::string_view kBareQuote = "bare \" in non-quoted-field";
constexpr std::string_view kQuote = "extraneous or missing \" in quoted-field";

}  // namespace

Result<std::vector<std::string>> ParseCsvRecord(std::string_view line) {
  // One trailing newline is allowed (go-csvvalue compatibility rule).
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(line.size() > 1 && line[line.size() - 2] == '\r' ? 2 : 1);
  }
  if (line.empty()) return InvalidArgumentError("EOF");

  std::vector<std::string> fields;
  size_t pos = 0;  // byte offset of `line` within the original text
  for (;;) {
    if (line.empty() || line.front() != '"') {
      // Unquoted field: up to the next comma; a quote inside it is an error.
      size_t comma = line.find(',');
      std::string_view field = line.substr(0, comma);
      size_t quote = field.find('"');
      if (quote != std::string_view::npos) return CsvError(pos + quote, kBareQuote);
      fields.emplace_back(field);
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
      pos += comma + 1;
      continue;
    }
    // Quoted field.
    line.remove_prefix(1);
    pos += 1;
    fields.emplace_back();
    bool next_field = false;
    for (;;) {
      size_t quote = line.find('"');
      if (quote == std::string_view::npos) return CsvError(pos, kQuote);
      fields.back().append(line.substr(0, quote));
      line.remove_prefix(quote + 1);
      pos += quote + 1;
      if (!line.empty() && line.front() == '"') {  // "" -> one quote
        fields.back().push_back('"');
        line.remove_prefix(1);
        pos += 1;
        continue;
      }
      if (!line.empty() && line.front() == ',') {  // end of field, another follows
        line.remove_prefix(1);
        pos += 1;
        next_field = true;
        break;
      }
      if (line.empty()) break;           // end of record
      return CsvError(pos - 1, kQuote);  // `"x` after a closing quote
    }
    if (!next_field) break;
  }
  return fields;
}

}  // namespace latchkey::frontend
