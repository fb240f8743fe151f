#include "base/go_csv.h"

namespace latchkey::base {
namespace {

// --- encoding/csv ---------------------------------------------------------------------------

// Reads lines the way Go's csv.Reader.readLine does: each line keeps its '\n'; "\r\n"
// becomes "\n"; a final '\r' before EOF is dropped.
class CsvLines {
 public:
  explicit CsvLines(std::string_view in) : in_(in) {}
  // Returns false at EOF (no more bytes).
  bool Next(std::string* line) {
    if (pos_ >= in_.size()) return false;
    size_t nl = in_.find('\n', pos_);
    size_t end = nl == std::string_view::npos ? in_.size() : nl + 1;
    *line = std::string(in_.substr(pos_, end - pos_));
    pos_ = end;
    ++num_line_;
    size_t n = line->size();
    if (n >= 2 && (*line)[n - 2] == '\r' && (*line)[n - 1] == '\n') {
      line->erase(n - 2, 1);
    } else if (nl == std::string_view::npos && n > 0 && (*line)[n - 1] == '\r') {
      line->pop_back();
    }
    return true;
  }
  int num_line() const { return num_line_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  int num_line_ = 0;
};

size_t LengthNL(std::string_view s) { return !s.empty() && s.back() == '\n' ? 1 : 0; }

std::string CsvError(int start_line, int line, int col, const char* what) {
  std::string prefix;
  if (start_line != line) prefix = "record on line " + std::to_string(start_line) + "; ";
  return prefix + "parse error on line " + std::to_string(line) + ", column " +
         std::to_string(col) + ": " + what;
}

constexpr const char* kErrBareQuote = "bare \" in non-quoted-field";
constexpr const char* kErrQuote = "extraneous or missing \" in quoted-field";

// --- go-csvvalue -----------------------------------------------------------------------------

Status CsvValueError(size_t pos, std::string_view what) {
  return InvalidArgumentError("parse error on line 1, column " + std::to_string(pos + 1) + ": " +
                              std::string(what));
}

constexpr std::string_view kBareQuote = "bare \" in non-quoted-field";
constexpr std::string_view kQuote = "extraneous or missing \" in quoted-field";

}  // namespace

Result<std::vector<std::string>> ReadCsvRecord(std::string_view input) {
  CsvLines lines(input);
  std::string buf;
  bool have = false;
  // Skip empty lines.
  while ((have = lines.Next(&buf))) {
    if (buf.size() != LengthNL(buf)) break;
  }
  if (!have) return InvalidArgumentError("EOF");
  std::string_view line = buf;
  std::string owned;  // storage when `line` moves to a later physical line
  const int rec_line = lines.num_line();
  int pos_line = rec_line;
  int pos_col = 1;
  std::vector<std::string> fields;
  while (true) {
    if (line.empty() || line[0] != '"') {
      size_t i = line.find(',');
      std::string_view field = i == std::string_view::npos
                                   ? line.substr(0, line.size() - LengthNL(line))
                                   : line.substr(0, i);
      size_t j = field.find('"');
      if (j != std::string_view::npos) {
        return InvalidArgumentError(
            CsvError(rec_line, lines.num_line(), pos_col + static_cast<int>(j), kErrBareQuote));
      }
      fields.emplace_back(field);
      if (i != std::string_view::npos) {
        line = line.substr(i + 1);
        pos_col += static_cast<int>(i) + 1;
        continue;
      }
      return fields;
    }
    // Quoted field.
    std::string field;
    line = line.substr(1);
    pos_col += 1;
    while (true) {
      size_t i = line.find('"');
      if (i != std::string_view::npos) {
        field.append(line.substr(0, i));
        line = line.substr(i + 1);
        pos_col += static_cast<int>(i) + 1;
        if (!line.empty() && line[0] == '"') {
          field += '"';
          line = line.substr(1);
          pos_col += 1;
        } else if (!line.empty() && line[0] == ',') {
          line = line.substr(1);
          pos_col += 1;
          fields.push_back(std::move(field));
          break;  // next field
        } else if (LengthNL(line) == line.size()) {
          fields.push_back(std::move(field));
          return fields;
        } else {
          return InvalidArgumentError(CsvError(rec_line, lines.num_line(), pos_col - 1, kErrQuote));
        }
      } else if (!line.empty()) {
        field.append(line);
        pos_col += static_cast<int>(line.size());
        if (lines.Next(&owned)) {
          line = owned;
          if (!line.empty()) {
            pos_line++;
            pos_col = 1;
          }
        } else {
          line = std::string_view();
        }
      } else {
        return InvalidArgumentError(CsvError(rec_line, pos_line, pos_col, kErrQuote));
      }
    }
  }
}

Result<std::vector<std::string>> CsvValueFields(std::string_view line) {
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
      if (quote != std::string_view::npos) return CsvValueError(pos + quote, kBareQuote);
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
      if (quote == std::string_view::npos) return CsvValueError(pos, kQuote);
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
      if (line.empty()) break;                // end of record
      return CsvValueError(pos - 1, kQuote);  // `"x` after a closing quote
    }
    if (!next_field) break;
  }
  return fields;
}

}  // namespace latchkey::base
