#include "base/go_text.h"

namespace latchkey::base {

DecodedRune DecodeRune(std::string_view s, size_t pos) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) return {b0, 1};
  const size_t left = s.size() - pos;
  auto cont = [&](size_t i) {
    return i < left && (static_cast<unsigned char>(s[pos + i]) & 0xC0) == 0x80;
  };
  auto at = [&](size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return {kRuneError, 1};
    return {(uint32_t(b0 & 0x1F) << 6) | (at(1) & 0x3F), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return {kRuneError, 1};
    if (b0 == 0xE0 && at(1) < 0xA0) return {kRuneError, 1};  // overlong
    if (b0 == 0xED && at(1) > 0x9F) return {kRuneError, 1};  // surrogate
    return {(uint32_t(b0 & 0x0F) << 12) | (uint32_t(at(1) & 0x3F) << 6) | (at(2) & 0x3F), 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return {kRuneError, 1};
    if (b0 == 0xF0 && at(1) < 0x90) return {kRuneError, 1};  // overlong
    if (b0 == 0xF4 && at(1) > 0x8F) return {kRuneError, 1};  // > U+10FFFF
    return {(uint32_t(b0 & 0x07) << 18) | (uint32_t(at(1) & 0x3F) << 12) |
                (uint32_t(at(2) & 0x3F) << 6) | (at(3) & 0x3F),
            4};
  }
  return {kRuneError, 1};
}

void AppendRune(std::string& out, uint32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

bool IsGoSpace(uint32_t r) {
  if (r < 0x100) return IsGoSpaceByte(static_cast<unsigned char>(r));
  return r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
         r == 0x205F || r == 0x3000;
}

std::string_view TrimLeftGoSpace(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    DecodedRune d = DecodeRune(s, pos);
    // An invalid byte decodes as RuneError, which is not a space.
    if (!IsGoSpace(d.rune) || (d.rune == kRuneError && d.width == 1)) break;
    pos += d.width;
  }
  return s.substr(pos);
}

std::string_view TrimGoSpace(std::string_view s) {
  s = TrimLeftGoSpace(s);
  // Walk forward remembering where the trailing run of spaces starts.
  size_t end = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    DecodedRune d = DecodeRune(s, pos);
    pos += d.width;
    if (!IsGoSpace(d.rune) || (d.rune == kRuneError && d.width == 1)) end = pos;
  }
  return s.substr(0, end);
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string TruncateForDisplay(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = 0;
  while (cut < max_bytes) {
    size_t w = DecodeRune(s, cut).width;
    if (w == 0 || cut + w > max_bytes) break;
    cut += w;
  }
  return std::string(s.substr(0, cut)) + "...";
}

bool IsGoPrint(uint32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (c < 0xA0 || c == 0xAD) return false;
  if ((c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
      (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB)) {
    return false;
  }
  if (c >= 0xE000 && c <= 0xF8FF) return false;  // private use
  if (c >= 0xF0000) return false;                // private use planes
  if (IsGoSpace(c)) return false;                // only ASCII space is printable
  return true;
}

std::string GoQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    DecodedRune d = DecodeRune(s, i);
    if (d.rune == kRuneError && d.width == 1) {  // invalid byte
      unsigned char b = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
      i += 1;
      continue;
    }
    i += d.width;
    const uint32_t c = d.rune;
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (IsGoPrint(c)) {
      AppendRune(out, c);
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else if (c < 0x10000) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(c >> shift) & 0xF]);
    } else {
      out += "\\U";
      for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHex[(c >> shift) & 0xF]);
    }
  }
  out += "\"";
  return out;
}

}  // namespace latchkey::base
