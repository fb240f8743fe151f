#include "builder/frontend/shell_lex.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "base/go_text.h"

namespace latchkey::frontend {
namespace {

constexpr int32_t kEof = -1;
constexpr int32_t kReplacementChar = 0xFFFD;

// Decodes one UTF-8 code point at s[i]; sets *len to the bytes used. An invalid or truncated
// sequence yields U+FFFD with *len == 1 (Go's utf8.DecodeRune behaviour).
int32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  size_t n = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  }
  *len = 1;
  if (n == 0 || i + n > s.size()) return kReplacementChar;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return kReplacementChar;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kReplacementChar;
  *len = n;
  return cp;
}

void AppendRune(std::string* out, int32_t cp) {
  if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacementChar;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string RuneString(int32_t cp) {
  std::string s;
  AppendRune(&s, cp);
  return s;
}

// Go unicode.IsSpace (exact).
bool IsSpace(int32_t c) {
  switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Go unicode.IsDigit: ASCII and Latin-1 exactly; beyond that the common decimal-digit blocks.
bool IsDigit(int32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  static constexpr std::pair<int32_t, int32_t> kRanges[] = {
      {0x0660, 0x0669}, {0x06F0, 0x06F9}, {0x07C0, 0x07C9}, {0x0966, 0x096F}, {0x09E6, 0x09EF},
      {0x0A66, 0x0A6F}, {0x0AE6, 0x0AEF}, {0x0B66, 0x0B6F}, {0x0BE6, 0x0BEF}, {0x0C66, 0x0C6F},
      {0x0CE6, 0x0CEF}, {0x0D66, 0x0D6F}, {0x0E50, 0x0E59}, {0x0ED0, 0x0ED9}, {0x0F20, 0x0F29},
      {0x1040, 0x1049}, {0x17E0, 0x17E9}, {0x1810, 0x1819}, {0xFF10, 0xFF19}};
  for (const auto& [lo, hi] : kRanges) {
    if (c >= lo && c <= hi) return true;
  }
  return false;
}

// Go unicode.IsLetter: ASCII and Latin-1 exactly; above U+00FF every code point outside the
// punctuation, symbol, digit, space and private-use blocks counts as a letter (approximation).
bool IsLetter(int32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c <= 0xFF)
    return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
  if (IsSpace(c) || IsDigit(c)) return false;
  if (c >= 0x0300 && c <= 0x036F) return false;             // combining marks
  if (c >= 0x2000 && c <= 0x2BFF) return false;             // punctuation, symbols, arrows, shapes
  if (c >= 0x3000 && c <= 0x303F) return false;             // CJK punctuation
  if (c >= 0xD800 && c <= 0xF8FF) return false;             // surrogates, private use
  if (c >= 0xFE00 && c <= 0xFE0F) return false;             // variation selectors
  if (c >= 0xFF00 && c <= 0xFF20) return false;             // full-width punctuation
  if (c == kReplacementChar || c >= 0x1F000) return false;  // emoji, symbols, private planes
  return true;
}

bool IsSpecialParam(int32_t c) {
  switch (c) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

// Reads code points like Go's text/scanner Peek/Next.
class RuneScanner {
 public:
  explicit RuneScanner(std::string_view src) : src_(src) {}
  int32_t Peek() const {
    if (pos_ >= src_.size()) return kEof;
    size_t len;
    return DecodeRune(src_, pos_, &len);
  }
  int32_t Next() {
    if (pos_ >= src_.size()) return kEof;
    size_t len;
    int32_t c = DecodeRune(src_, pos_, &len);
    pos_ += len;
    return c;
  }

 private:
  std::string_view src_;
  size_t pos_ = 0;
};

// Accumulates ProcessWords' split words (BuildKit wordsStruct).
class Words {
 public:
  void AddChar(int32_t c) {
    if (IsSpace(c) && in_word_) {
      if (!word_.empty()) {
        words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
      }
    } else if (!IsSpace(c)) {
      AddRawChar(c);
    }
  }
  void AddRawChar(int32_t c) {
    AppendRune(&word_, c);
    in_word_ = true;
  }
  void AddString(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      size_t len;
      AddChar(DecodeRune(s, i, &len));
      i += len;
    }
  }
  void AddRawString(std::string_view s) {
    word_ += s;
    in_word_ = true;
  }
  std::vector<std::string> Take() {
    if (!word_.empty()) {
      words_.push_back(std::move(word_));
      word_.clear();
      in_word_ = false;
    }
    return std::move(words_);
  }

 private:
  std::string word_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

// ---- Shell patterns ---------------------------------------------------------------------

// One element of a compiled pattern (the regexp BuildKit builds has only these three).
struct PatternToken {
  enum Kind { kLiteral, kAny, kStar } kind;
  int32_t rune = 0;  // kLiteral
};

// A value split into code points, remembering each one's byte range.
struct Units {
  std::vector<int32_t> runes;
  std::vector<size_t> offsets;  // offsets[i] = byte offset of rune i; offsets[n] = size
};

Units SplitUnits(std::string_view s) {
  Units u;
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    u.runes.push_back(DecodeRune(s, i, &len));
    u.offsets.push_back(i);
    i += len;
  }
  u.offsets.push_back(s.size());
  return u;
}

// BuildKit convertShellPatternToRegex: '*' any run (no newline), '?' one rune (no newline),
// '\' escapes '*', '?' and '\'; "\}" and "\/" drop the backslash. Any other escape fails.
Result<std::vector<PatternToken>> CompilePattern(const std::vector<int32_t>& pattern) {
  std::vector<PatternToken> out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    int32_t tok = pattern[i];
    if (tok == '*') {
      out.push_back({PatternToken::kStar});
    } else if (tok == '?') {
      out.push_back({PatternToken::kAny});
    } else if (tok == '\\') {
      int32_t next = i + 1 < pattern.size() ? pattern[i + 1] : kEof;
      if (next == '}' || next == '/') continue;
      if (next == kEof) return InvalidArgumentError("invalid escape '\\' at end of pattern");
      ++i;
      if (next != '*' && next != '?' && next != '\\') {
        return InvalidArgumentError("invalid escape '\\" + RuneString(next) + "'");
      }
      out.push_back({PatternToken::kLiteral, next});
    } else {
      out.push_back({PatternToken::kLiteral, tok});
    }
  }
  return out;
}

// Backtracking matcher with Go regexp's leftmost-first preference: greedy stars try the
// longest run first, lazy ones the shortest. Failures are memoised, so the cost is bounded by
// tokens x runes x runes.
class PatternMatcher {
 public:
  PatternMatcher(const std::vector<PatternToken>& tokens, const std::vector<int32_t>& text,
                 bool greedy)
      : tokens_(tokens),
        text_(text),
        greedy_(greedy),
        failed_((tokens.size() + 1) * (text.size() + 1), false) {}

  // Returns the end of the preferred match of all tokens starting at rune `start`.
  std::optional<size_t> MatchAt(size_t start) { return Match(0, start); }

 private:
  std::optional<size_t> Match(size_t ti, size_t vi) {
    if (ti == tokens_.size()) return vi;
    size_t key = ti * (text_.size() + 1) + vi;
    if (failed_[key]) return std::nullopt;
    std::optional<size_t> result;
    const PatternToken& tok = tokens_[ti];
    switch (tok.kind) {
      case PatternToken::kLiteral:
        if (vi < text_.size() && text_[vi] == tok.rune) result = Match(ti + 1, vi + 1);
        break;
      case PatternToken::kAny:
        if (vi < text_.size() && text_[vi] != '\n') result = Match(ti + 1, vi + 1);
        break;
      case PatternToken::kStar: {
        size_t max = 0;
        while (vi + max < text_.size() && text_[vi + max] != '\n') ++max;
        if (greedy_) {
          for (size_t k = max + 1; k-- > 0 && !result;) result = Match(ti + 1, vi + k);
        } else {
          for (size_t k = 0; k <= max && !result; ++k) result = Match(ti + 1, vi + k);
        }
        break;
      }
    }
    if (!result) failed_[key] = true;
    return result;
  }

  const std::vector<PatternToken>& tokens_;
  const std::vector<int32_t>& text_;
  bool greedy_;
  std::vector<bool> failed_;
};

Status PatternError(std::string_view pattern, const Status& cause) {
  return InvalidArgumentError("invalid pattern (" + std::string(pattern) +
                              ") in substitution: " + cause.message());
}

// ${v#pat} / ${v##pat}.
Result<std::string> TrimPrefix(std::string_view pattern, std::string_view value, bool greedy) {
  Units pat = SplitUnits(pattern);
  auto tokens = CompilePattern(pat.runes);
  if (!tokens.ok()) return PatternError(pattern, tokens.status());
  Units val = SplitUnits(value);
  PatternMatcher matcher(*tokens, val.runes, greedy);
  std::optional<size_t> end = matcher.MatchAt(0);
  if (!end) return std::string(value);
  return std::string(value.substr(val.offsets[*end]));
}

// ${v%pat} / ${v%%pat}: like BuildKit, reverse the pattern (keeping "\x" pairs in order) and the
// value, and trim a prefix.
Result<std::string> TrimSuffix(std::string_view pattern, std::string_view value, bool greedy) {
  Units pat = SplitUnits(pattern);
  const std::vector<int32_t>& p = pat.runes;
  std::vector<int32_t> reversed(p.size());
  size_t last = p.empty() ? 0 : p.size() - 1;
  for (size_t i = 0; i < p.size();) {
    size_t out = last - i;
    if (p[i] == '\\' && i != last) {
      reversed[out - 1] = p[i];
      reversed[out] = p[i + 1];
      i += 2;
    } else {
      reversed[out] = p[i];
      ++i;
    }
  }
  auto tokens = CompilePattern(reversed);
  if (!tokens.ok()) return PatternError(pattern, tokens.status());
  Units val = SplitUnits(value);
  std::vector<int32_t> rev_value(val.runes.rbegin(), val.runes.rend());
  PatternMatcher matcher(*tokens, rev_value, greedy);
  std::optional<size_t> end = matcher.MatchAt(0);
  if (!end) return std::string(value);
  size_t keep = val.runes.size() - *end;  // runes kept at the front
  return std::string(value.substr(0, val.offsets[keep]));
}

// Go regexp.Expand for a pattern without groups: "$$" is '$'; "$name", "${name}" and "$1"
// are empty; a '$' not followed by a valid reference stays literal.
std::string ExpandTemplate(std::string_view tmpl) {
  std::string out;
  size_t i = 0;
  auto is_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  while (i < tmpl.size()) {
    size_t dollar = tmpl.find('$', i);
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(i, dollar - i));
    i = dollar + 1;
    if (i < tmpl.size() && tmpl[i] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    bool brace = i < tmpl.size() && tmpl[i] == '{';
    size_t j = brace ? i + 1 : i;
    size_t name_start = j;
    while (j < tmpl.size() && is_name(tmpl[j])) ++j;
    bool ok = j > name_start && (!brace || (j < tmpl.size() && tmpl[j] == '}'));
    if (!ok) {
      out.push_back('$');
      continue;
    }
    i = brace ? j + 1 : j;  // a reference to a group that does not exist expands to nothing
  }
  out.append(tmpl.substr(std::min(i, tmpl.size())));
  return out;
}

Status TooLarge() {
  return InvalidArgumentError("the result of variable expansion exceeds " +
                              std::to_string(kMaxExpansionBytes >> 20) + " MiB");
}

// ${v/pat/rep} and ${v//pat/rep}.
Result<std::string> Replace(std::string_view pattern, std::string_view replacement,
                            std::string_view value, bool all) {
  Units pat = SplitUnits(pattern);
  auto tokens = CompilePattern(pat.runes);
  if (!tokens.ok()) return PatternError(pattern, tokens.status());
  Units val = SplitUnits(value);
  const size_t n = val.runes.size();
  PatternMatcher matcher(*tokens, val.runes, /*greedy=*/true);
  auto find_from = [&](size_t from) -> std::optional<std::pair<size_t, size_t>> {
    for (size_t start = from; start <= n; ++start) {
      if (auto end = matcher.MatchAt(start)) return std::make_pair(start, *end);
    }
    return std::nullopt;
  };
  if (!all) {
    auto m = find_from(0);
    if (!m) return std::string(value);
    return std::string(value.substr(0, val.offsets[m->first])) + std::string(replacement) +
           std::string(value.substr(val.offsets[m->second]));
  }
  // Go Regexp.ReplaceAllString.
  std::string expanded = ExpandTemplate(replacement);
  std::string out;
  size_t last_end = 0;
  size_t search = 0;
  while (search <= n) {
    auto m = find_from(search);
    if (!m) break;
    out.append(value.substr(val.offsets[last_end], val.offsets[m->first] - val.offsets[last_end]));
    if (m->second > last_end || m->first == 0) out += expanded;
    if (out.size() > kMaxExpansionBytes) return TooLarge();
    last_end = m->second;
    if (search < n && search + 1 > m->second) {
      search += 1;
    } else if (search + 1 > m->second) {
      search += 1;
    } else {
      search = m->second;
    }
  }
  out.append(value.substr(val.offsets[last_end]));
  if (out.size() > kMaxExpansionBytes) return TooLarge();
  return out;
}

// ---- The word processor (BuildKit shellWord) ---------------------------------------------

class ShellWord {
 public:
  ShellWord(const ShellLexOptions& opts, const VarMap& vars, std::string_view src,
            WordResult* result)
      : opts_(opts), vars_(vars), scanner_(src), raw_escapes_(opts.raw_escapes), out_(result) {}

  Status Process(std::string* word, std::vector<std::string>* words) {
    return ProcessStopOn(kEof, opts_.raw_escapes, word, words);
  }

 private:
  // Processes until `stop` (consumed) or the end. Fails when `stop` is not kEof and never seen.
  // Each nested ${...} word is one level deeper: the depth is bounded so that hostile input
  // cannot exhaust the stack.
  Status ProcessStopOn(int32_t stop, bool raw_escapes, std::string* result,
                       std::vector<std::string>* split) {
    if (depth_ >= kMaxExpansionDepth) {
      return InvalidArgumentError("variable expansion nested more than " +
                                  std::to_string(kMaxExpansionDepth) + " levels deep");
    }
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    ++depth_;
    Status status = ProcessStopOnInner(stop, result, split);
    --depth_;
    raw_escapes_ = saved;
    return status;
  }

  Status ProcessStopOnInner(int32_t stop, std::string* result, std::vector<std::string>* split) {
    Words words;
    while (scanner_.Peek() != kEof) {
      int32_t ch = scanner_.Peek();
      if (stop != kEof && ch == stop) {
        scanner_.Next();
        if (split) *split = words.Take();
        return Status::OK();
      }
      bool quote = !opts_.skip_process_quotes && (ch == '\'' || ch == '"');
      if (ch == '$' || quote) {
        std::string tmp;
        Status s = ch == '$'    ? ProcessDollar(&tmp)
                   : ch == '\'' ? ProcessSingleQuote(&tmp)
                                : ProcessDoubleQuote(&tmp);
        if (!s.ok()) return s;
        *result += tmp;
        if (result->size() > kMaxExpansionBytes) return TooLarge();
        if (ch == '$') {
          words.AddString(tmp);
        } else {
          words.AddRawString(tmp);
        }
        continue;
      }
      ch = scanner_.Next();
      if (ch == static_cast<unsigned char>(opts_.escape_token)) {
        if (raw_escapes_) {
          words.AddRawChar(ch);
          AppendRune(result, ch);
        }
        // The escape token escapes the next character; at the very end it is dropped.
        ch = scanner_.Next();
        if (ch == kEof) break;
        words.AddRawChar(ch);
      } else {
        words.AddChar(ch);
      }
      AppendRune(result, ch);
      if (result->size() > kMaxExpansionBytes) return TooLarge();
    }
    if (stop != kEof) {
      return InvalidArgumentError("unexpected end of statement while looking for matching " +
                                  RuneString(stop));
    }
    if (split) *split = words.Take();
    return Status::OK();
  }

  Status ProcessSingleQuote(std::string* result) {
    int32_t ch = scanner_.Next();
    if (opts_.raw_quotes) AppendRune(result, ch);
    for (;;) {
      ch = scanner_.Next();
      if (ch == kEof) {
        return InvalidArgumentError(
            "unexpected end of statement while looking for matching single-quote");
      }
      if (ch == '\'') {
        if (opts_.raw_quotes) AppendRune(result, ch);
        return Status::OK();
      }
      AppendRune(result, ch);
    }
  }

  Status ProcessDoubleQuote(std::string* result) {
    int32_t ch = scanner_.Next();
    if (opts_.raw_quotes) AppendRune(result, ch);
    const int32_t escape = static_cast<unsigned char>(opts_.escape_token);
    for (;;) {
      int32_t peek = scanner_.Peek();
      if (peek == kEof) {
        return InvalidArgumentError(
            "unexpected end of statement while looking for matching double-quote");
      }
      if (peek == '"') {
        ch = scanner_.Next();
        if (opts_.raw_quotes) AppendRune(result, ch);
        return Status::OK();
      }
      if (peek == '$') {
        std::string value;
        LK_RETURN_IF_ERROR(ProcessDollar(&value));
        *result += value;
        if (result->size() > kMaxExpansionBytes) return TooLarge();
        continue;
      }
      ch = scanner_.Next();
      if (ch == escape) {
        if (raw_escapes_) AppendRune(result, ch);
        int32_t next = scanner_.Peek();
        if (next == kEof) continue;  // a trailing escape is dropped
        // Only ", $ and the escape token itself can be escaped; other escapes stay literal.
        if (next == '"' || next == '$' || next == escape) ch = scanner_.Next();
      }
      AppendRune(result, ch);
    }
  }

  // Looks `name` up, recording it as matched or unmatched.
  std::optional<std::string> GetEnv(const std::string& name) {
    auto it = vars_.find(name);
    if (it == vars_.end()) {
      out_->unmatched.insert(name);
      return std::nullopt;
    }
    out_->matched.insert(name);
    return it->second;
  }

  std::string ProcessName() {
    std::string name;
    while (scanner_.Peek() != kEof) {
      int32_t ch = scanner_.Peek();
      if (name.empty() && IsDigit(ch)) {
        while (scanner_.Peek() != kEof && IsDigit(scanner_.Peek()))
          AppendRune(&name, scanner_.Next());
        return name;
      }
      if (name.empty() && IsSpecialParam(ch)) return RuneString(scanner_.Next());
      if (!IsLetter(ch) && !IsDigit(ch) && ch != '_') break;
      AppendRune(&name, scanner_.Next());
    }
    return name;
  }

  static Status MissingBrace() { return InvalidArgumentError("syntax error: missing '}'"); }

  // Reads the rest of a ${...} word up to its closing '}'; running out of input is
  // MissingBrace.
  Status ProcessToBrace(bool raw, std::string* word) {
    Status s = ProcessStopOn('}', raw, word, nullptr);
    if (!s.ok() && scanner_.Peek() == kEof) return MissingBrace();
    return s;
  }

  Status ProcessDollar(std::string* out) {
    scanner_.Next();  // '$'
    if (scanner_.Peek() != '{') {
      std::string name = ProcessName();
      if (name.empty()) {
        *out = "$";
        return Status::OK();
      }
      std::optional<std::string> value = GetEnv(name);
      if (!value && opts_.skip_unset_env) {
        *out = "$" + name;
      } else {
        *out = value.value_or("");
      }
      return Status::OK();
    }
    scanner_.Next();  // '{'
    switch (scanner_.Peek()) {
      case kEof:
        return MissingBrace();
      case '{':
      case '}':
      case ':':
        return InvalidArgumentError("syntax error: bad substitution");
      default:
        break;
    }
    std::string name = ProcessName();
    int32_t ch = scanner_.Next();
    if (ch == kEof) return MissingBrace();  // BuildKit: "unsupported modifier (\uFFFD) ..."
    std::string chs = RuneString(ch);
    bool null_is_unset = false;

    if (ch == '}') {
      std::optional<std::string> value = GetEnv(name);
      if (!value && opts_.skip_unset_env) {
        *out = "${" + name + "}";
      } else {
        *out = value.value_or("");
      }
      return Status::OK();
    }
    if (ch == ':') {
      null_is_unset = true;
      ch = scanner_.Next();
      if (ch != kEof) chs += RuneString(ch);
    }
    if (null_is_unset || ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
      bool raw = ch == '#' || ch == '%';
      std::string word;
      LK_RETURN_IF_ERROR(ProcessToBrace(raw, &word));
      std::optional<std::string> found = GetEnv(name);
      if (!found && opts_.skip_unset_env) {
        *out = "${" + name + chs + word + "}";
        return Status::OK();
      }
      const bool set = found.has_value();
      const std::string value = found.value_or("");
      switch (ch) {
        case '-':
          *out = (!set || (null_is_unset && value.empty())) ? word : value;
          return Status::OK();
        case '+':
          *out = (!set || (null_is_unset && value.empty())) ? std::string() : word;
          return Status::OK();
        case '?':
          if (!set) {
            return InvalidArgumentError(name + ": " +
                                        (word.empty() ? "is not allowed to be unset" : word));
          }
          if (null_is_unset && value.empty()) {
            return InvalidArgumentError(name + ": " +
                                        (word.empty() ? "is not allowed to be empty" : word));
          }
          *out = value;
          return Status::OK();
        case '%':
        case '#': {
          // One modifier character: shortest match; doubled: longest.
          bool greedy = false;
          std::string_view pattern = word;
          if (!pattern.empty() && pattern.front() == static_cast<char>(ch)) {
            greedy = true;
            pattern.remove_prefix(1);
          }
          LK_ASSIGN_OR_RETURN(*out, ch == '%' ? TrimSuffix(pattern, value, greedy)
                                              : TrimPrefix(pattern, value, greedy));
          return Status::OK();
        }
        default:
          return InvalidArgumentError("unsupported modifier (" + chs + ") in substitution");
      }
    }
    if (ch == '/') {
      bool all = scanner_.Peek() == '/';
      if (all) scanner_.Next();
      std::string pattern;
      Status s = ProcessStopOn('/', true, &pattern, nullptr);
      if (!s.ok()) {
        if (scanner_.Peek() == kEof) {
          return InvalidArgumentError("syntax error: missing '/' in ${}");
        }
        return s;
      }
      std::string replacement;
      LK_RETURN_IF_ERROR(ProcessToBrace(true, &replacement));
      std::optional<std::string> found = GetEnv(name);
      if (!found && opts_.skip_unset_env) {
        *out = "${" + name + "/" + pattern + "/" + replacement + "}";
        return Status::OK();
      }
      LK_ASSIGN_OR_RETURN(*out, Replace(pattern, replacement, found.value_or(""), all));
      return Status::OK();
    }
    return InvalidArgumentError("unsupported modifier (" + chs + ") in substitution");
  }

  const ShellLexOptions& opts_;
  const VarMap& vars_;
  RuneScanner scanner_;
  bool raw_escapes_;
  WordResult* out_;
  int depth_ = 0;
};

}  // namespace

VarMap VarMapFromEnvList(const std::vector<std::string>& env) {
  VarMap vars;
  for (const std::string& e : env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) {
      vars[e] = "";
    } else {
      vars[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  return vars;
}

ShellLex::ShellLex(char escape_token) { options_.escape_token = escape_token; }

ShellLex::ShellLex(ShellLexOptions options) : options_(options) {}

Result<WordResult> ShellLex::ProcessWordWithMatches(std::string_view word,
                                                    const VarMap& vars) const {
  WordResult result;
  ShellWord sw(options_, vars, word, &result);
  Status status = sw.Process(&result.result, &result.words);
  if (!status.ok()) {
    // A hostile word can be megabytes long: the message quotes its start only.
    constexpr size_t kQuoted = 256;
    std::string quoted = word.size() > kQuoted ? base::GoQuote(word.substr(0, kQuoted)) + "..."
                                               : base::GoQuote(word);
    return InvalidArgumentError("failed to process " + quoted + ": " + status.message());
  }
  return result;
}

Result<std::string> ShellLex::ProcessWord(std::string_view word, const VarMap& vars) const {
  LK_ASSIGN_OR_RETURN(WordResult r, ProcessWordWithMatches(word, vars));
  return std::move(r.result);
}

Result<std::vector<std::string>> ShellLex::ProcessWords(std::string_view word,
                                                        const VarMap& vars) const {
  LK_ASSIGN_OR_RETURN(WordResult r, ProcessWordWithMatches(word, vars));
  return std::move(r.words);
}

}  // namespace latchkey::frontend
