// Go-compatible text primitives, so that messages and parsing match Go tools (BuildKit, the
// docker CLI) byte for byte: UTF-8 decoding as Go's unicode/utf8 does it, unicode.IsSpace,
// strings.TrimSpace, the ASCII whitespace class `[\t\v\f\r ]` that BuildKit's parser splits on,
// and strconv.Quote (GoQuote).
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BASE_GO_TEXT_H_
#define LATCHKEY_BASE_GO_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace latchkey::base {

inline constexpr uint32_t kRuneError = 0xFFFD;

// Decodes the rune starting at s[pos] (pos < s.size()) like utf8.DecodeRuneInString: invalid,
// overlong, surrogate or out-of-range encodings decode as (kRuneError, 1).
struct DecodedRune {
  uint32_t rune;
  size_t width;
};
DecodedRune DecodeRune(std::string_view s, size_t pos);

// Appends the UTF-8 encoding of `r` (kRuneError for invalid code points).
void AppendRune(std::string& out, uint32_t r);

// unicode.IsSpace.
bool IsGoSpace(uint32_t r);

// unicode.IsSpace applied to a single byte as a rune (BuildKit does this in places where it
// indexes a string byte by byte): true for \t \n \v \f \r space 0x85 0xA0.
inline bool IsGoSpaceByte(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0;
}

// The class `[\t\v\f\r ]` of BuildKit's reWhitespace.
inline bool IsReWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

// strings.TrimSpace / strings.TrimLeftFunc(s, unicode.IsSpace).
std::string_view TrimGoSpace(std::string_view s);
std::string_view TrimLeftGoSpace(std::string_view s);

// ASCII lower-casing (Go's strings.ToLower on the instruction words we compare).
std::string AsciiLower(std::string_view s);

// Display length limit for user text echoed in progress lines and errors (a RUN command, a
// Dockerfile line): longer text is cut at a rune boundary at or before this many bytes and
// "..." appended, so a 1 MB command does not flood a terminal or a CI log.
inline constexpr size_t kMaxDisplayBytes = 256;
std::string TruncateForDisplay(std::string_view s, size_t max_bytes = kMaxDisplayBytes);

// Go's unicode.IsPrint, approximated above Latin-1: false for controls, DEL, C1 controls, soft
// hyphen, zero-width and bidi format characters, private use, and every space but ' '.
bool IsGoPrint(uint32_t r);

// Quotes `s` as Go's strconv.Quote / fmt "%q" does (used to render Go tools' messages exactly):
// surrounding double quotes; \" and \\ escaped; \a \b \f \n \r \t \v; other control bytes and
// invalid UTF-8 bytes as \xNN; DEL as \x7f; non-printable runes as \uNNNN or \UNNNNNNNN;
// printable Unicode kept as is.
std::string GoQuote(std::string_view s);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_GO_TEXT_H_
