#include "builder/frontend/heredoc.h"

#include <limits>

namespace latchkey::frontend {
namespace {

bool IsLexSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits `line` into words like BuildKit's lexer with RawQuotes, RawEscapes and SkipUnsetEnv
// against no variables: quotes and escapes stay in the words, `$` is an ordinary character.
std::vector<std::string> RawWords(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  size_t i = 0;
  auto flush = [&] {
    if (in_word) words.push_back(word);
    word.clear();
    in_word = false;
  };
  while (i < line.size()) {
    const char c = line[i];
    if (IsLexSpace(c)) {
      flush();
      ++i;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const size_t end = line.find('\'', i + 1);
      const size_t stop = end == std::string_view::npos ? line.size() : end + 1;
      word.append(line.substr(i, stop - i));
      i = stop;
    } else if (c == '"') {
      word.push_back(c);
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) word.push_back(line[i++]);
        word.push_back(line[i++]);
      }
      if (i < line.size()) word.push_back(line[i++]);
    } else if (c == '\\') {
      word.push_back(c);
      if (i + 1 < line.size()) word.push_back(line[i + 1]);
      i += 2;
    } else if (c == '<' && i + 1 < line.size() && line[i + 1] == '<') {
      word.append("<<");
      i += 2;
      while (i < line.size() && IsLexSpace(line[i])) word.push_back(line[i++]);
    } else {
      word.push_back(c);
      ++i;
    }
  }
  flush();
  return words;
}

// Processes `rest` with the lexer (escape '\\', unset variables kept): quotes removed unless
// `raw_quotes`, escapes applied. Returns the words, or the lexer's error.
Result<std::vector<std::string>> ProcessWords(std::string_view rest, bool raw_quotes) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  size_t i = 0;
  while (i < rest.size()) {
    const char c = rest[i];
    if (IsLexSpace(c)) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    if (c == '\'') {
      const size_t end = rest.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return InvalidArgumentError("failed to process \"" + std::string(rest) +
                                    "\": unexpected end of statement while looking for "
                                    "matching single-quote");
      }
      if (raw_quotes) word.push_back('\'');
      word.append(rest.substr(i + 1, end - i - 1));
      if (raw_quotes) word.push_back('\'');
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      if (raw_quotes) word.push_back('"');
      ++i;
      bool closed = false;
      while (i < rest.size()) {
        if (rest[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        if (rest[i] == '\\' && i + 1 < rest.size() &&
            (rest[i + 1] == '"' || rest[i + 1] == '$' || rest[i + 1] == '\\')) {
          ++i;
        } else if (rest[i] == '\\' && i + 1 == rest.size()) {
          ++i;
          continue;
        }
        word.push_back(rest[i++]);
      }
      if (!closed) {
        return InvalidArgumentError("failed to process \"" + std::string(rest) +
                                    "\": unexpected end of statement while looking for "
                                    "matching double-quote");
      }
      if (raw_quotes) word.push_back('"');
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 < rest.size()) {
        word.push_back(rest[i + 1]);
        in_word = true;
      }
      i += 2;
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

size_t CountQuotes(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (c == '\'' || c == '"');
  return n;
}

bool IsReSpace(char c) {  // Go regexp \s: [\t\n\f\r ]
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

}  // namespace

Result<std::optional<Heredoc>> ParseHeredoc(std::string_view word) {
  // ^(\d*)<<(-?)\s*([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  const std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::optional<Heredoc>();
  i += 2;
  bool chomp = false;
  if (i < word.size() && word[i] == '-') {
    chomp = true;
    ++i;
  }
  while (i < word.size() && IsReSpace(word[i])) ++i;
  const std::string_view rest = word.substr(i);
  if (rest.find('<') != std::string_view::npos) return std::optional<Heredoc>();
  if (rest.empty()) return std::optional<Heredoc>();

  LK_ASSIGN_OR_RETURN(std::vector<std::string> words, ProcessWords(rest, false));
  if (words.size() != 1) return std::optional<Heredoc>();
  LK_ASSIGN_OR_RETURN(std::vector<std::string> raw, ProcessWords(rest, true));
  if (raw.size() != words.size()) {
    return InvalidArgumentError("internal lexing of heredoc produced inconsistent results: " +
                                std::string(rest));
  }
  Heredoc h;
  h.name = words[0];
  h.expand = CountQuotes(words[0]) == CountQuotes(raw[0]);
  h.chomp = chomp;
  // strconv.ParseUint: overflow yields the maximum value (BuildKit ignores the error).
  uint64_t fd = 0;
  for (char d : digits) {
    const uint64_t v = static_cast<uint64_t>(d - '0');
    if (fd > (std::numeric_limits<uint64_t>::max() - v) / 10) {
      fd = std::numeric_limits<uint64_t>::max();
      break;
    }
    fd = fd * 10 + v;
  }
  h.file_descriptor = fd;
  return std::optional<Heredoc>(std::move(h));
}

Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line) {
  std::vector<Heredoc> docs;
  for (const std::string& word : RawWords(line)) {
    LK_ASSIGN_OR_RETURN(std::optional<Heredoc> h, ParseHeredoc(word));
    if (h) docs.push_back(std::move(*h));
  }
  return docs;
}

std::string ChompHeredocContent(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = (c == '\n');
    out.push_back(c);
  }
  return out;
}

}  // namespace latchkey::frontend
