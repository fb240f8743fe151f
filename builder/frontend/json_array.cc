#include "builder/frontend/json_array.h"

#include <cstdint>
#include <string_view>

#include "base/go_text.h"

namespace latchkey::frontend {
namespace {

constexpr size_t kMaxDepth = 10000;  // encoding/json's maxNestingDepth

class Validator {
 public:
  explicit Validator(std::string_view s) : s_(s) {}

  // Validates the whole input as one JSON value followed by optional whitespace.
  bool Valid() {
    SkipWs();
    if (!Value()) return false;
    SkipWs();
    return pos_ == s_.size();
  }

 private:
  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  bool Number() {
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return false;
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    } else {
      return false;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !IsDigit(s_[pos_])) return false;
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !IsDigit(s_[pos_])) return false;
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    }
    return true;
  }
  static bool IsHex(char c) {
    return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  bool String() {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return false;
        const char e = s_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= s_.size() || !IsHex(s_[pos_ + i])) return false;
          }
          pos_ += 5;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
            e != 't') {
          return false;
        }
      }
      ++pos_;
    }
    return false;
  }
  // Iterative value parser (arrays and objects tracked on an explicit stack).
  bool Value() {
    std::string stack;  // '[' or '{'
    for (;;) {
      SkipWs();
      if (pos_ >= s_.size()) return false;
      const char c = s_[pos_];
      bool opened = false;
      if (c == '[' || c == '{') {
        if (stack.size() + 1 > kMaxDepth) return false;
        stack.push_back(c);
        ++pos_;
        SkipWs();
        if (pos_ < s_.size() && s_[pos_] == (c == '[' ? ']' : '}')) {
          ++pos_;
          stack.pop_back();
        } else {
          opened = true;
          if (c == '{') {
            if (pos_ >= s_.size() || s_[pos_] != '"' || !String()) return false;
            SkipWs();
            if (pos_ >= s_.size() || s_[pos_] != ':') return false;
            ++pos_;
          }
        }
      } else if (c == '"') {
        if (!String()) return false;
      } else if (c == 't') {
        if (!Literal("true")) return false;
      } else if (c == 'f') {
        if (!Literal("false")) return false;
      } else if (c == 'n') {
        if (!Literal("null")) return false;
      } else if (c == '-' || IsDigit(c)) {
        if (!Number()) return false;
      } else {
        return false;
      }
      if (opened) continue;  // parse the first element/value of the new container
      // After a complete value: close containers or move to the next element.
      for (;;) {
        if (stack.empty()) return true;
        SkipWs();
        if (pos_ >= s_.size()) return false;
        const char top = stack.back();
        if (s_[pos_] == ',') {
          ++pos_;
          if (top == '{') {
            SkipWs();
            if (pos_ >= s_.size() || s_[pos_] != '"' || !String()) return false;
            SkipWs();
            if (pos_ >= s_.size() || s_[pos_] != ':') return false;
            ++pos_;
          }
          break;  // next value
        }
        if (s_[pos_] == (top == '[' ? ']' : '}')) {
          ++pos_;
          stack.pop_back();
          continue;
        }
        return false;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Decodes a validated JSON string starting at s[*pos] == '"'; advances past the closing quote.
std::string DecodeString(std::string_view s, size_t* pos) {
  std::string out;
  size_t i = *pos + 1;
  auto read_u4 = [&](size_t at) {
    return (HexVal(s[at]) << 12) | (HexVal(s[at + 1]) << 8) | (HexVal(s[at + 2]) << 4) |
           HexVal(s[at + 3]);
  };
  while (s[i] != '"') {
    if (s[i] == '\\') {
      const char e = s[i + 1];
      switch (e) {
        case 'u': {
          uint32_t r = static_cast<uint32_t>(read_u4(i + 2));
          i += 6;
          if (r >= 0xD800 && r < 0xDC00) {
            // A high surrogate: joined with a following \u low surrogate, else U+FFFD.
            if (i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
              const uint32_t lo = static_cast<uint32_t>(read_u4(i + 2));
              if (lo >= 0xDC00 && lo < 0xE000) {
                r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
              } else {
                r = base::kRuneError;
              }
            } else {
              r = base::kRuneError;
            }
          } else if (r >= 0xDC00 && r < 0xE000) {
            r = base::kRuneError;
          }
          base::AppendRune(out, r);
          break;
        }
        default: {
          // \b \f \n \r \t stand for control bytes; \" \\ \/ for themselves.
          const size_t k = std::string_view("bfnrt").find(e);
          out.push_back(k == std::string_view::npos ? e : "\b\f\n\r\t"[k]);
          i += 2;
          break;
        }
      }
      continue;
    }
    const base::DecodedRune d = base::DecodeRune(s, i);
    if (d.rune == base::kRuneError && d.width == 1) {
      base::AppendRune(out, base::kRuneError);
    } else {
      out.append(s.substr(i, d.width));
    }
    i += d.width;
  }
  *pos = i + 1;
  return out;
}

void SkipJsonWs(std::string_view s, size_t* pos) {
  while (*pos < s.size() &&
         (s[*pos] == ' ' || s[*pos] == '\t' || s[*pos] == '\n' || s[*pos] == '\r')) {
    ++*pos;
  }
}

}  // namespace

JsonArrayStatus ParseJsonStringArray(std::string_view text, std::vector<std::string>* out) {
  out->clear();
  text = base::TrimLeftGoSpace(text);
  if (text.empty() || text[0] != '[') return JsonArrayStatus::kNotJson;
  if (!Validator(text).Valid()) return JsonArrayStatus::kNotJson;
  // The text is a valid JSON array: walk its top-level elements.
  size_t pos = 1;
  SkipJsonWs(text, &pos);
  if (text[pos] == ']') return JsonArrayStatus::kOk;
  for (;;) {
    SkipJsonWs(text, &pos);
    if (text[pos] != '"') {
      out->clear();
      return JsonArrayStatus::kNotStringArray;
    }
    out->push_back(DecodeString(text, &pos));
    SkipJsonWs(text, &pos);
    if (text[pos] == ']') return JsonArrayStatus::kOk;
    ++pos;  // ','
  }
}

}  // namespace latchkey::frontend
