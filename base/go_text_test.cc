#include "base/go_text.h"

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

TEST(GoQuote, MatchesStrconvQuote) {
  EXPECT_EQ(GoQuote(""), "\"\"");
  EXPECT_EQ(GoQuote("abc"), "\"abc\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("\a\b\f\n\r\t\v"), "\"\\a\\b\\f\\n\\r\\t\\v\"");
  EXPECT_EQ(GoQuote(std::string("\x00\x1b\x7f", 3)), "\"\\x00\\x1b\\x7f\"");
  EXPECT_EQ(GoQuote("\xff"), "\"\\xff\"");
  EXPECT_EQ(GoQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(GoQuote("\xc2\xa0"), "\"\\u00a0\"");
  EXPECT_EQ(GoQuote("\xef\xbb\xbf"), "\"\\ufeff\"");
  EXPECT_EQ(GoQuote("'"), "\"'\"");
}

TEST(GoQuote, ControlRunesAboveAsciiUseUnicodeEscapes) {
  EXPECT_EQ(GoQuote("\xc2\x85"), "\"\\u0085\"");                   // NEL, a C1 control
  EXPECT_EQ(GoQuote("\xe2\x80\xa8"), "\"\\u2028\"");               // line separator
  EXPECT_EQ(GoQuote("\xf3\xb0\x80\x80"), "\"\\U000f0000\"");       // private use plane
  EXPECT_EQ(GoQuote("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");  // printable emoji kept
}

TEST(GoQuote, TruncatedSequenceQuotesEachByte) {
  EXPECT_EQ(GoQuote("a\xe2\x80"), "\"a\\xe2\\x80\"");
}

TEST(DecodeRune, DecodesLikeGo) {
  EXPECT_EQ(DecodeRune("a", 0).rune, uint32_t{'a'});
  DecodedRune e = DecodeRune("\xc3\xa9", 0);
  EXPECT_EQ(e.rune, 0xE9u);
  EXPECT_EQ(e.width, 2u);
  DecodedRune overlong = DecodeRune("\xc0\x80", 0);
  EXPECT_EQ(overlong.rune, kRuneError);
  EXPECT_EQ(overlong.width, 1u);
  DecodedRune surrogate = DecodeRune("\xed\xa0\x80", 0);
  EXPECT_EQ(surrogate.rune, kRuneError);
  EXPECT_EQ(surrogate.width, 1u);
}

TEST(AppendRune, InvalidCodePointBecomesRuneError) {
  std::string out;
  AppendRune(out, 0xD800);
  EXPECT_EQ(out, "\xef\xbf\xbd");
}

TEST(TrimGoSpace, TrimsUnicodeSpacesButNotInvalidBytes) {
  EXPECT_EQ(TrimGoSpace("\xc2\xa0 x \t\n"), "x");
  EXPECT_EQ(TrimGoSpace("\xff "), "\xff");
  EXPECT_EQ(TrimLeftGoSpace("\xe3\x80\x80x "), "x ");
}

TEST(AsciiLower, LowersAsciiOnly) { EXPECT_EQ(AsciiLower("RUN \xc3\x89"), "run \xc3\x89"); }

}  // namespace
}  // namespace latchkey::base
