#include "builder/frontend/csv.h"

#include <gtest/gtest.h>

namespace latchkey::frontend {
namespace {

using Fields = std::vector<std::string>;

Fields MustParse(std::string_view text) {
  auto r = ParseCsvRecord(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : Fields{};
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseCsvRecord(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(ParseCsvRecord, SplitsOnCommas) {
  EXPECT_EQ(MustParse("type=secret,id=x"), (Fields{"type=secret", "id=x"}));
  EXPECT_EQ(MustParse("a"), (Fields{"a"}));
  EXPECT_EQ(MustParse("a,,b"), (Fields{"a", "", "b"}));
  EXPECT_EQ(MustParse("a,"), (Fields{"a", ""}));
  EXPECT_EQ(MustParse(","), (Fields{"", ""}));
}

TEST(ParseCsvRecord, KeepsSpaces) { EXPECT_EQ(MustParse(" a , b "), (Fields{" a ", " b "})); }

TEST(ParseCsvRecord, QuotedFields) {
  EXPECT_EQ(MustParse("\"a,b\",c"), (Fields{"a,b", "c"}));
  EXPECT_EQ(MustParse("\"say \"\"hi\"\"\""), (Fields{"say \"hi\""}));
  EXPECT_EQ(MustParse("\"\""), (Fields{""}));
  EXPECT_EQ(MustParse("\"\","), (Fields{"", ""}));
  EXPECT_EQ(MustParse("\"a\nb\""), (Fields{"a\nb"}));
}

TEST(ParseCsvRecord, QuoteOnlyAtFieldStartOpensAQuotedField) {
  // A field such as target="/a b" is not quoted: the quote is bare.
  EXPECT_EQ(ErrorOf("target=\"/a b\""),
            "parse error on line 1, column 8: bare \" in non-quoted-field");
  EXPECT_EQ(MustParse("\"target=/a,b\""), (Fields{"target=/a,b"}));
}

TEST(ParseCsvRecord, TrailingNewlineIgnored) {
  EXPECT_EQ(MustParse("a,b\n"), (Fields{"a", "b"}));
  EXPECT_EQ(MustParse("a,b\r\n"), (Fields{"a", "b"}));
  EXPECT_EQ(MustParse("a\nb"), (Fields{"a\nb"}));
}

TEST(ParseCsvRecord, EmptyIsEof) {
  EXPECT_EQ(ErrorOf(""), "EOF");
  EXPECT_EQ(ErrorOf("\n"), "EOF");
  EXPECT_EQ(ErrorOf("\r\n"), "EOF");
}

TEST(ParseCsvRecord, BareQuoteError) {
  EXPECT_EQ(ErrorOf("ab\"c"), "parse error on line 1, column 3: bare \" in non-quoted-field");
  EXPECT_EQ(ErrorOf("a,b\""), "parse error on line 1, column 4: bare \" in non-quoted-field");
}

TEST(ParseCsvRecord, ExtraneousQuoteError) {
  // Text after a closing quote.
  EXPECT_EQ(ErrorOf("\"ab\"c"),
            "parse error on line 1, column 4: extraneous or missing \" in quoted-field");
  // Never closed: reported where the unclosed text starts.
  EXPECT_EQ(ErrorOf("\"abc"),
            "parse error on line 1, column 2: extraneous or missing \" in quoted-field");
  EXPECT_EQ(ErrorOf("x,\"a\"\"b"),
            "parse error on line 1, column 7: extraneous or missing \" in quoted-field");
}

TEST(ParseCsvRecord, ErrorIsInvalidArgument) {
  EXPECT_EQ(ParseCsvRecord("\"").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::frontend
