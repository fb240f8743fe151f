// Heredoc detection for RUN/COPY/ADD lines (`RUN <<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`,
// `COPY <<A <<B /dst`), as BuildKit's parser does it (ParseHeredoc / heredocsFromLine in
// frontend/dockerfile/parser/parser.go, with the shell lexer's raw modes).
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_FRONTEND_HEREDOC_H_
#define LATCHKEY_BUILDER_FRONTEND_HEREDOC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::frontend {

struct Heredoc {
  std::string name;              // the terminator word, quotes removed ("EOF")
  uint64_t file_descriptor = 0;  // N of `N<<EOF`; 0 when absent
  bool expand = true;            // false when any part of the word was quoted
  bool chomp = false;            // `<<-`: leading tabs are stripped (terminator and content)
  std::string content;           // raw body lines with their line endings, not chomped
  friend bool operator==(const Heredoc&, const Heredoc&) = default;
};

// Parses one word as a heredoc opener. Returns nullopt when the word is not one ("<<", "<EOF",
// "<<EOF sh"); an error when its quoting is broken ("<<'EOF").
Result<std::optional<Heredoc>> ParseHeredoc(std::string_view word);

// Every heredoc opener on an instruction line, in order (the line is split into words with
// quotes and escapes kept; "<<" absorbs the whitespace after it, so "<<  EOF" is one word).
Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line);

// Removes leading tabs from every line of `content` (what `<<-` does to the body).
std::string ChompHeredocContent(std::string_view content);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_HEREDOC_H_
