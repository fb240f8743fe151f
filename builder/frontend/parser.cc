#include "builder/frontend/parser.h"

#include <optional>

#include "base/go_text.h"
#include "builder/frontend/json_array.h"
#include "builder/frontend/shell_lex.h"
#include "builder/frontend/suggest.h"

namespace latchkey::frontend {
namespace {

constexpr int kMaxOnbuildDepth = 64;

// What a line parser produces for one instruction.
struct Parsed {
  std::vector<std::string> args;
  std::vector<Node> nested;
  bool json = false;
};

struct Directives {
  char escape = '\\';
  bool done = false;
  std::vector<Directive> seen;
};

bool IsReSpace(char c) {  // Go regexp \s
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// DirectiveParser.ParseLine: `token` is the line without its newline (left-trimmed when it
// starts an instruction).
Status PossibleParserDirective(Directives& d, std::string_view token, int line) {
  if (d.done) return Status::OK();
  if (token.empty() || token[0] != '#') {
    d.done = true;
    return Status::OK();
  }
  std::string_view s = base::TrimLeftGoSpace(token.substr(1));
  // ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
  size_t i = 0;
  if (s.empty() || !IsAlpha(s[0])) {
    d.done = true;
    return Status::OK();
  }
  while (i < s.size() && (IsAlpha(s[i]) || IsDigit(s[i]))) ++i;
  const std::string name = base::AsciiLower(s.substr(0, i));
  while (i < s.size() && IsReSpace(s[i])) ++i;
  if (i >= s.size() || s[i] != '=') {
    d.done = true;
    return Status::OK();
  }
  ++i;
  const size_t ws_start = i;
  while (i < s.size() && IsReSpace(s[i])) ++i;
  std::string value;
  if (i < s.size()) {
    size_t end = s.size();
    while (end > i && IsReSpace(s[end - 1])) --end;
    value = std::string(s.substr(i, end - i));
  } else if (i > ws_start) {
    value = std::string(s.substr(s.size() - 1));  // regex backtracking: one blank as the value
  } else {
    d.done = true;
    return Status::OK();
  }
  if (name != "syntax" && name != "escape" && name != "check") {
    d.done = true;
    return Status::OK();
  }
  for (const Directive& seen : d.seen) {
    if (seen.name == name) {
      return InvalidArgumentError("only one " + name + " parser directive can be used");
    }
  }
  if (name == "escape") {
    if (value != "`" && value != "\\") {
      return InvalidArgumentError("invalid escape token '" + value + "' does not match ` or \\");
    }
    d.escape = value[0];
  }
  d.seen.push_back(Directive{name, value, line});
  return Status::OK();
}

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsComment(std::string_view raw) {
  std::string_view t = base::TrimLeftGoSpace(TrimNewline(raw));
  return !t.empty() && t[0] == '#';
}

// Removes a trailing escape token (and blanks after it) unless it is itself escaped.
// Returns true when the line continues.
bool TrimContinuation(std::string& line, char escape) {
  size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  if (end == 0 || line[end - 1] != escape) return false;
  if (end >= 2 && line[end - 2] == escape) return false;
  line.resize(end - 1);
  return true;
}

// Ends the word the splitters below (SplitCommand, ParseWords) are building: it is kept when
// it is not empty or was quoted (moby's blankOK), and the next word starts empty, unquoted.
void EndWord(std::vector<std::string>& out, std::string& word, bool& blank_ok) {
  if (blank_ok || !word.empty()) out.push_back(word);
  word.clear();
  blank_ok = false;
}

// splitCommand + extractBuilderFlags.
struct SplitLine {
  std::string cmd;
  std::vector<std::string> flags;
  std::string args;
};

SplitLine SplitCommand(std::string_view line) {
  SplitLine out;
  std::string_view t = base::TrimGoSpace(line);
  size_t i = 0;
  while (i < t.size() && !base::IsReWhitespace(t[i])) ++i;
  out.cmd = std::string(t.substr(0, i));
  if (i == t.size()) return out;
  size_t j = i;
  while (j < t.size() && base::IsReWhitespace(t[j])) ++j;
  const std::string_view rest = t.substr(j);

  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  std::string_view remaining;
  bool have_remaining = false;
  const size_t n = rest.size();
  for (size_t pos = 0; pos <= n; ++pos) {
    char ch = pos != n ? rest[pos] : 0;
    if (phase == kSpaces) {
      if (pos == n) break;
      if (base::IsGoSpaceByte(static_cast<unsigned char>(ch))) continue;
      if (ch != '-' || pos + 1 == n || rest[pos + 1] != '-') {
        remaining = rest.substr(pos);
        have_remaining = true;
        break;
      }
      phase = kWord;
    }
    if ((phase == kWord || phase == kQuote) && pos == n) {
      if (word != "--" && (blank_ok || !word.empty())) out.flags.push_back(word);
      break;
    }
    if (phase == kWord) {
      if (base::IsGoSpaceByte(static_cast<unsigned char>(ch))) {
        phase = kSpaces;
        if (word == "--") {
          remaining = rest.substr(pos);
          have_remaining = true;
          break;
        }
        EndWord(out.flags, word, blank_ok);
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == n) continue;
        ++pos;
        ch = rest[pos];
      }
      word.push_back(ch);
      continue;
    }
    if (phase == kQuote) {
      if (ch == quote) {
        phase = kWord;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == n) {
          phase = kWord;
          continue;
        }
        ++pos;
        ch = rest[pos];
      }
      word.push_back(ch);
    }
  }
  if (have_remaining) out.args = std::string(base::TrimGoSpace(remaining));
  return out;
}

// parseWords: splits on Unicode whitespace keeping quotes and escapes in the words; invalid
// UTF-8 bytes become U+FFFD (Go writes the decoded rune back).
std::vector<std::string> ParseWords(std::string_view rest, char escape) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  uint32_t quote = 0;
  bool blank_ok = false;
  uint32_t ch = 0;
  size_t width = 0;
  const size_t n = rest.size();
  auto decode = [&](size_t pos) {
    base::DecodedRune d = base::DecodeRune(rest, pos);
    ch = d.rune;
    width = d.width;
  };
  for (size_t pos = 0; pos <= n; pos += width) {
    if (pos != n) decode(pos);
    if (phase == kSpaces) {
      if (pos == n) break;
      if (base::IsGoSpace(ch) && !(ch == base::kRuneError && width == 1)) continue;
      phase = kWord;
    }
    if ((phase == kWord || phase == kQuote) && pos == n) {
      EndWord(words, word, blank_ok);
      break;
    }
    if (phase == kWord) {
      if (base::IsGoSpace(ch) && !(ch == base::kRuneError && width == 1)) {
        phase = kSpaces;
        EndWord(words, word, blank_ok);
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch == static_cast<unsigned char>(escape)) {
        if (pos + width == n) continue;
        base::AppendRune(word, ch);
        pos += width;
        decode(pos);
      }
      base::AppendRune(word, ch);
      continue;
    }
    // kQuote
    if (ch == quote) phase = kWord;
    if (ch == static_cast<unsigned char>(escape) && quote != '\'') {
      if (pos + width == n) {
        phase = kWord;
        continue;
      }
      pos += width;
      base::AppendRune(word, ch);
      decode(pos);
    }
    base::AppendRune(word, ch);
  }
  return words;
}

// regexp `[\t\v\f\r ]+` Split(s, -1) / Split(s, 2) for the inputs the parser passes (already
// trimmed, non-empty).
std::vector<std::string> SplitReWhitespace(std::string_view s, int limit) {
  std::vector<std::string> parts;
  size_t beg = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (limit > 0 && static_cast<int>(parts.size()) == limit - 1) break;
    if (!base::IsReWhitespace(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && base::IsReWhitespace(s[j])) ++j;
    if (j != 0) parts.emplace_back(s.substr(beg, i - beg));
    beg = j;
    i = j;
  }
  parts.emplace_back(s.substr(beg));
  return parts;
}

Result<Parsed> ParseNameVal(std::string_view rest, const char* key, char escape) {
  Parsed p;
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return p;
  if (words[0].find('=') == std::string::npos) {
    std::vector<std::string> parts = SplitReWhitespace(rest, 2);
    if (parts.size() < 2)
      return InvalidArgumentError(std::string(key) + " must have two arguments");
    p.args = {parts[0], parts[1], ""};
    return p;
  }
  for (const std::string& w : words) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("Syntax error - can't find = in " + base::GoQuote(w) +
                                  ". Must be of the form: name=value");
    }
    p.args.push_back(w.substr(0, eq));
    p.args.push_back(w.substr(eq + 1));
    p.args.push_back("=");
  }
  return p;
}

}  // namespace

namespace {

Result<Parsed> ParseJsonOrFallback(std::string_view rest, bool to_list) {
  Parsed p;
  std::vector<std::string> elems;
  switch (ParseJsonStringArray(rest, &elems)) {
    case JsonArrayStatus::kOk:
      p.args = std::move(elems);
      p.json = true;
      return p;
    case JsonArrayStatus::kNotStringArray:
      return InvalidArgumentError(kNotStringArrayMessage);
    case JsonArrayStatus::kNotJson:
      break;
  }
  if (rest.empty()) return p;
  if (to_list) {
    p.args = SplitReWhitespace(rest, -1);
  } else {
    p.args.emplace_back(rest);
  }
  return p;
}

Result<Node> NewNodeFromLine(std::string_view line, const Directives& d, int depth);

Result<Parsed> Dispatch(const std::string& cmd, std::string_view rest, const Directives& d,
                        int depth) {
  Parsed p;
  if (cmd == "add" || cmd == "copy" || cmd == "volume") return ParseJsonOrFallback(rest, true);
  if (cmd == "cmd" || cmd == "entrypoint" || cmd == "run" || cmd == "shell") {
    return ParseJsonOrFallback(rest, false);
  }
  if (cmd == "env") return ParseNameVal(rest, "ENV", d.escape);
  if (cmd == "label") return ParseNameVal(rest, "LABEL", d.escape);
  if (cmd == "arg") {
    p.args = ParseWords(rest, d.escape);
    return p;
  }
  if (cmd == "expose" || cmd == "from") {
    if (!rest.empty()) p.args = SplitReWhitespace(rest, -1);
    return p;
  }
  if (cmd == "maintainer" || cmd == "stopsignal" || cmd == "user" || cmd == "workdir") {
    if (!rest.empty()) p.args.emplace_back(rest);
    return p;
  }
  if (cmd == "healthcheck") {
    size_t sep = 0;
    while (sep < rest.size() && !base::IsGoSpaceByte(static_cast<unsigned char>(rest[sep]))) ++sep;
    size_t next = sep;
    while (next < rest.size() && base::IsGoSpaceByte(static_cast<unsigned char>(rest[next])))
      ++next;
    if (sep == 0) return p;
    LK_ASSIGN_OR_RETURN(Parsed cmd_part, ParseJsonOrFallback(rest.substr(next), false));
    p.args.emplace_back(rest.substr(0, sep));
    for (auto& a : cmd_part.args) p.args.push_back(std::move(a));
    p.json = cmd_part.json;
    return p;
  }
  if (cmd == "onbuild") {
    if (rest.empty()) return p;
    if (depth >= kMaxOnbuildDepth) {
      return InvalidArgumentError("ONBUILD nested more than " + std::to_string(kMaxOnbuildDepth) +
                                  " levels deep");
    }
    LK_ASSIGN_OR_RETURN(Node child, NewNodeFromLine(rest, d, depth + 1));
    p.nested.push_back(std::move(child));
    return p;
  }
  // Unknown instruction: BuildKit's parseIgnore keeps one empty value.
  p.args.emplace_back();
  return p;
}

Result<Node> NewNodeFromLine(std::string_view line, const Directives& d, int depth) {
  SplitLine split = SplitCommand(line);
  Node node;
  node.value = base::AsciiLower(split.cmd);
  LK_ASSIGN_OR_RETURN(Parsed p, Dispatch(node.value, split.args, d, depth));
  node.original_cmd = std::move(split.cmd);
  node.original = std::string(line);
  node.flags = std::move(split.flags);
  node.args = std::move(p.args);
  node.nested = std::move(p.nested);
  node.json = p.json;
  return node;
}

bool CanContainHeredoc(const Node& n) {
  const Node* node = &n;
  if (node->value == "onbuild" && !node->nested.empty()) node = &node->nested[0];
  if (node->value != "add" && node->value != "copy" && node->value != "run") return false;
  return !node->json;
}

void SetLines(Node& n, int start, int end) {
  n.start_line = start;
  n.end_line = end;
  for (Node& c : n.nested) SetLines(c, start, end);
}

}  // namespace

Status LineError(std::string_view filename, int line, std::string_view message) {
  return InvalidArgumentError(std::string(filename) + ":" + std::to_string(line) + ": " +
                              std::string(message));
}

Result<ParseResult> Parse(std::string_view text, std::string_view filename) {
  // Split into lines keeping their endings (bufio scanLines variant).
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (!lines.empty() && lines[0].substr(0, 3) == "\xEF\xBB\xBF") lines[0].remove_prefix(3);

  ParseResult result;
  Directives d;
  std::vector<std::string> comments;
  int current_line = 0;
  size_t idx = 0;
  auto process_line = [&](std::string_view raw, bool strip_left, std::string* out) -> Status {
    std::string_view token = TrimNewline(raw);
    if (strip_left) token = base::TrimLeftGoSpace(token);
    Status s = PossibleParserDirective(d, token, current_line + 1);
    if (IsComment(token)) {
      out->clear();
    } else {
      out->assign(token);
    }
    return s;
  };

  while (idx < lines.size()) {
    std::string_view raw = lines[idx++];
    std::string line;
    const size_t directives_before = d.seen.size();
    Status s = process_line(raw, true, &line);
    if (!s.ok()) return LineError(filename, current_line + 1, s.message());
    // Directive lines are not comments of the instruction below them.
    if (IsComment(raw) && d.seen.size() == directives_before) {
      std::string_view body = TrimNewline(raw);
      std::string comment(base::TrimGoSpace(body.substr(1)));
      if (comment.empty()) {
        comments.clear();
      } else {
        comments.push_back(std::move(comment));
      }
    }
    ++current_line;
    const int start_line = current_line;
    bool continues = TrimContinuation(line, d.escape);
    if (!continues && line.empty()) continue;

    bool has_empty_continuation = false;
    while (continues && idx < lines.size()) {
      std::string_view next_raw = lines[idx++];
      std::string next;
      Status ns = process_line(next_raw, false, &next);
      if (!ns.ok()) return LineError(filename, current_line + 1, ns.message());
      ++current_line;
      if (IsComment(next_raw)) continue;
      if (base::TrimLeftGoSpace(next).empty()) {
        has_empty_continuation = true;
        continue;
      }
      continues = TrimContinuation(next, d.escape);
      line += next;
    }
    if (has_empty_continuation) {
      result.warnings.push_back(
          Warning{"Empty continuation line found in: " + line +
                      " (empty continuation lines will become errors in a future release)",
                  current_line});
    }

    Result<Node> child = NewNodeFromLine(line, d, 0);
    if (!child.ok()) return LineError(filename, start_line, child.status().message());
    Node node = std::move(child).value();

    if (CanContainHeredoc(node) && line.find("<<") != std::string::npos) {
      Result<std::vector<Heredoc>> docs = HeredocsFromLine(line);
      if (!docs.ok()) return LineError(filename, start_line, docs.status().message());
      for (Heredoc& h : *docs) {
        bool terminated = false;
        while (idx < lines.size()) {
          std::string_view body = lines[idx++];
          ++current_line;
          std::string_view candidate = TrimNewline(body);
          if (h.chomp) {
            while (!candidate.empty() && candidate[0] == '\t') candidate.remove_prefix(1);
          }
          if (candidate == h.name) {
            terminated = true;
            break;
          }
          h.content.append(body);
        }
        if (!terminated) return LineError(filename, start_line, "unterminated heredoc");
        node.heredocs.push_back(std::move(h));
      }
    }
    SetLines(node, start_line, current_line);
    node.prev_comment = std::move(comments);
    comments.clear();
    result.children.push_back(std::move(node));
  }
  if (result.children.empty()) {
    return LineError(filename, current_line == 0 ? 1 : current_line, "file with no instructions");
  }
  result.escape_token = d.escape;
  result.directives = std::move(d.seen);
  return result;
}

const std::vector<std::string>& KnownInstructions() {
  static const std::vector<std::string> kNames = {
      "add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
      "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
      "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};
  return kNames;
}

namespace {
Status CheckNode(const Node& n, std::string_view filename) {
  const auto& known = KnownInstructions();
  bool ok = false;
  for (const auto& k : known) ok = ok || k == n.value;
  if (!ok) {
    return LineError(filename, n.start_line,
                     WithSuggestion("unknown instruction: " + n.original_cmd, n.original_cmd, known,
                                    /*case_sensitive=*/false));
  }
  for (const Node& c : n.nested) LK_RETURN_IF_ERROR(CheckNode(c, filename));
  return Status::OK();
}
}  // namespace

Status CheckInstructionNames(const ParseResult& result, std::string_view filename) {
  for (const Node& n : result.children) LK_RETURN_IF_ERROR(CheckNode(n, filename));
  return Status::OK();
}

}  // namespace latchkey::frontend
