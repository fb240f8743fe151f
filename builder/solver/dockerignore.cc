#include "builder/solver/dockerignore.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "base/path.h"
#include "base/split.h"
#include "builder/solver/copy_pathmatch.h"

namespace latchkey::build {
namespace {

std::string_view TrimSpace(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find('/', i);
    if (j == std::string_view::npos) {
      out.emplace_back(s.substr(i));
      return out;
    }
    out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
}

// Go's filepath.Dir for a cleaned relative path: "a/b" -> "a", "a" -> ".".
std::string_view ParentOf(std::string_view path) {
  size_t j = path.rfind('/');
  if (j == std::string_view::npos) return ".";
  return path.substr(0, j);
}

// Decodes one UTF-8 character at the start of non-empty `s` (a bad byte counts as one).
char32_t DecodeOne(std::string_view s, size_t* len) {
  auto b0 = static_cast<unsigned char>(s[0]);
  *len = 1;
  int n = b0 >= 0xF0 && b0 < 0xF8   ? 4
          : b0 >= 0xE0 && b0 < 0xF0 ? 3
          : b0 >= 0xC2 && b0 < 0xE0 ? 2
                                    : 1;
  if (n == 1 || s.size() < static_cast<size_t>(n)) return b0;
  char32_t r = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (int k = 1; k < n; ++k) {
    auto b = static_cast<unsigned char>(s[static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) return b0;
    r = (r << 6) | (b & 0x3F);
  }
  *len = static_cast<size_t>(n);
  return r;
}

// True when the pattern components `pat[i..]` could match `dir[j..]` or a path below it.
bool CouldMatchBelow(const std::vector<std::string>& pat, size_t i,
                     const std::vector<std::string>& dir, size_t j) {
  if (i == pat.size()) return true;  // matched the directory or an ancestor: all re-included
  if (j == dir.size()) return true;  // more pattern left for the entries below
  if (pat[i].find("**") != std::string::npos) return true;
  auto m = PathMatch(pat[i], dir[j]);
  if (!m.ok() || !*m) return false;
  return CouldMatchBelow(pat, i + 1, dir, j + 1);
}

}  // namespace

Result<IgnoreMatcher::Pattern> IgnoreMatcher::Compile(std::string text) {
  Pattern p;
  if (!text.empty() && text[0] == '!') {
    if (text.size() == 1) return InvalidArgumentError("\"!\" must be followed by a pattern");
    p.exclusion = true;
    text.erase(0, 1);
  }
  // filepath.Match reports syntax errors; patternmatcher checks every pattern this way.
  auto check = PathMatch(text, ".");
  if (!check.ok()) return check.status();
  p.cleaned = text;
  p.dirs = Split(text);

  // patternmatcher's Pattern.compile: the pattern becomes a regexp unless it is a plain string
  // (exact), "prefix/**" (prefix) or "**/suffix" (suffix). The regexp is kept as tokens and
  // matched below (no std::regex: it is slow, recursive, and trips GCC 12 warnings).
  p.type = MatchType::kExact;
  auto add = [&](Token::Kind kind, char c = 0) {
    Token t;
    t.kind = kind;
    t.literal = c;
    p.tokens.push_back(std::move(t));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '*') {
      if (i + 1 < text.size() && text[i + 1] == '*') {
        size_t start = i;
        ++i;
        if (i + 1 < text.size() && text[i + 1] == '/') ++i;
        if (i + 1 >= text.size()) {
          if (p.type == MatchType::kExact) {
            p.type = MatchType::kPrefix;
          } else {
            add(Token::kRest);
            p.type = MatchType::kRegexp;
          }
        } else {
          add(Token::kAnyDirs);
          p.type = MatchType::kRegexp;
        }
        if (start == 0) p.type = MatchType::kSuffix;
      } else {
        add(Token::kStar);
        p.type = MatchType::kRegexp;
      }
    } else if (ch == '?') {
      add(Token::kAnyChar);
      p.type = MatchType::kRegexp;
    } else if (ch == '\\') {
      if (i + 1 < text.size()) {
        add(Token::kLiteral, text[++i]);
        p.type = MatchType::kRegexp;
      } else {
        add(Token::kLiteral, '\\');
      }
    } else if (ch == '[') {
      // A class, in filepath.Match's grammar (already validated by PathMatch above).
      Token t;
      t.kind = Token::kClass;
      size_t j = i + 1;
      if (j < text.size() && text[j] == '^') {
        t.negated = true;
        ++j;
      }
      auto one = [&](char32_t* r) {
        if (text[j] == '\\') ++j;
        size_t n = 1;
        *r = DecodeOne(std::string_view(text).substr(j), &n);
        j += n;
      };
      while (j < text.size() && !(text[j] == ']' && !t.ranges.empty())) {
        char32_t lo, hi;
        one(&lo);
        hi = lo;
        if (j < text.size() && text[j] == '-') {
          ++j;
          one(&hi);
        }
        t.ranges.emplace_back(lo, hi);
      }
      i = j;  // at the closing ']'
      p.tokens.push_back(std::move(t));
      p.type = MatchType::kRegexp;
    } else if (ch == ']') {
      add(Token::kLiteral, ch);
      p.type = MatchType::kRegexp;
    } else {
      add(Token::kLiteral, ch);
    }
  }
  if (p.type != MatchType::kRegexp) p.tokens.clear();
  return p;
}

bool IgnoreMatcher::MatchTokens(const std::vector<Token>& tokens, std::string_view s) {
  // memo[t * (n + 1) + i]: 0 unknown, 1 no, 2 yes -- whether tokens[t..] match s[i..].
  const size_t n = s.size();
  std::vector<unsigned char> memo((tokens.size() + 1) * (n + 1), 0);
  std::function<bool(size_t, size_t)> m = [&](size_t t, size_t i) -> bool {
    if (t == tokens.size()) return i == n;
    unsigned char& slot = memo[t * (n + 1) + i];
    if (slot) return slot == 2;
    const Token& tok = tokens[t];
    bool ok = false;
    switch (tok.kind) {
      case Token::kLiteral:
        ok = i < n && s[i] == tok.literal && m(t + 1, i + 1);
        break;
      case Token::kAnyChar:
        if (i < n && s[i] != '/') {
          size_t len = 1;
          DecodeOne(s.substr(i), &len);
          ok = m(t + 1, i + len);
        }
        break;
      case Token::kClass:
        if (i < n) {
          size_t len = 1;
          char32_t r = DecodeOne(s.substr(i), &len);
          bool in = false;
          for (const auto& [lo, hi] : tok.ranges) in = in || (lo <= r && r <= hi);
          ok = in != tok.negated && m(t + 1, i + len);
        }
        break;
      case Token::kStar:    // [^/]*
      case Token::kRest: {  // .*
        const char stop = tok.kind == Token::kStar ? '/' : '\n';
        for (size_t k = i;; ++k) {
          if (m(t + 1, k)) {
            ok = true;
            break;
          }
          if (k == n || s[k] == stop) break;
        }
        break;
      }
      case Token::kAnyDirs:  // (.*/)?
        ok = m(t + 1, i);
        for (size_t k = i; !ok && k < n && s[k] != '\n'; ++k) {
          if (s[k] == '/') ok = m(t + 1, k + 1);
        }
        break;
    }
    slot = ok ? 2 : 1;
    return ok;
  };
  return m(0, 0);
}

bool IgnoreMatcher::Match(const Pattern& p, std::string_view path) {
  switch (p.type) {
    case MatchType::kExact:
      return path == p.cleaned;
    case MatchType::kPrefix:
      return path.substr(0, p.cleaned.size() - 2) ==
             std::string_view(p.cleaned).substr(0, p.cleaned.size() - 2);
    case MatchType::kSuffix: {
      std::string_view suffix = std::string_view(p.cleaned).substr(2);
      if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
        return true;
      }
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case MatchType::kRegexp:
      return MatchTokens(p.tokens, path);
  }
  return false;
}

Result<IgnoreMatcher> IgnoreMatcher::Parse(std::string_view text, std::string_view filename) {
  IgnoreMatcher m;
  size_t line_no = 0;
  for (std::string_view line : base::Split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    ++line_no;
    if (!line.empty() && line[0] == '#') continue;
    std::string_view trimmed = TrimSpace(line);
    if (trimmed.empty()) continue;
    bool invert = trimmed[0] == '!';
    std::string_view body = invert ? TrimSpace(trimmed.substr(1)) : trimmed;
    std::string pattern;
    if (!body.empty()) {
      pattern = base::CleanPath(body);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    if (invert) pattern = "!" + pattern;
    auto compiled = Compile(pattern);
    if (!compiled.ok()) {
      return InvalidArgumentError(std::string(filename) + ":" + std::to_string(line_no) +
                                  ": invalid pattern \"" + std::string(trimmed) +
                                  "\": " + compiled.status().message());
    }
    m.patterns_.push_back(std::move(*compiled));
  }
  return m;
}

Result<IgnoreMatcher> IgnoreMatcher::Load(const std::string& context_dir,
                                          const std::string& dockerfile_path) {
  std::vector<std::string> candidates;
  if (!dockerfile_path.empty()) candidates.push_back(dockerfile_path + ".dockerignore");
  candidates.push_back(context_dir + "/.dockerignore");
  for (const auto& path : candidates) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return InvalidArgumentError("read " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return InvalidArgumentError("read " + path + ": not a regular file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgumentError("read " + path + ": " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    return Parse(buf.str(), path);
  }
  return IgnoreMatcher();
}

bool IgnoreMatcher::Excluded(std::string_view rel_path) const {
  bool matched = false;
  std::string_view parent = ParentOf(rel_path);
  std::vector<std::string> parent_dirs;
  if (parent != ".") parent_dirs = Split(parent);
  for (const auto& p : patterns_) {
    if (p.exclusion != matched) continue;
    bool match = Match(p, rel_path);
    if (!match && parent != ".") {
      std::string prefix;
      for (size_t i = 0; i < parent_dirs.size(); ++i) {
        if (i) prefix += "/";
        prefix += parent_dirs[i];
        if (Match(p, prefix)) {
          match = true;
          break;
        }
      }
    }
    if (match) matched = !p.exclusion;
  }
  return matched;
}

bool IgnoreMatcher::MayIncludeUnder(std::string_view rel_dir) const {
  std::vector<std::string> dir = Split(rel_dir);
  for (const auto& p : patterns_) {
    if (p.exclusion && CouldMatchBelow(p.dirs, 0, dir, 0)) return true;
  }
  return false;
}

}  // namespace latchkey::build
