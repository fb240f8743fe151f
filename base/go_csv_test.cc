#include "base/go_csv.h"

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

using Fields = std::vector<std::string>;

Fields MustParse(std::string_view text) {
  auto r = CsvValueFields(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : Fields{};
}

std::string ErrorOf(std::string_view text) {
  auto r = CsvValueFields(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(CsvValueFields, SplitsOnCommas) {
  EXPECT_EQ(MustParse("type=secret,id=x"), (Fields{"type=secret", "id=x"}));
  EXPECT_EQ(MustParse("a"), (Fields{"a"}));
  EXPECT_EQ(MustParse("a,,b"), (Fields{"a", "", "b"}));
  EXPECT_EQ(MustParse("a,"), (Fields{"a", ""}));
  EXPECT_EQ(MustParse(","), (Fields{"", ""}));
}

TEST(CsvValueFields, KeepsSpaces) { EXPECT_EQ(MustParse(" a , b "), (Fields{" a ", " b "})); }

TEST(CsvValueFields, QuotedFields) {
  EXPECT_EQ(MustParse("\"a,b\",c"), (Fields{"a,b", "c"}));
  EXPECT_EQ(MustParse("\"say \"\"hi\"\"\""), (Fields{"say \"hi\""}));
  EXPECT_EQ(MustParse("\"\""), (Fields{""}));
  EXPECT_EQ(MustParse("\"\","), (Fields{"", ""}));
  EXPECT_EQ(MustParse("\"a\nb\""), (Fields{"a\nb"}));
}

TEST(CsvValueFields, QuoteOnlyAtFieldStartOpensAQuotedField) {
  // A field such as target="/a b" is not quoted: the quote is bare.
  EXPECT_EQ(ErrorOf("target=\"/a b\""),
            "parse error on line 1, column 8: bare \" in non-quoted-field");
  EXPECT_EQ(MustParse("\"target=/a,b\""), (Fields{"target=/a,b"}));
}

TEST(CsvValueFields, TrailingNewlineIgnored) {
  EXPECT_EQ(MustParse("a,b\n"), (Fields{"a", "b"}));
  EXPECT_EQ(MustParse("a,b\r\n"), (Fields{"a", "b"}));
  EXPECT_EQ(MustParse("a\nb"), (Fields{"a\nb"}));
}

TEST(CsvValueFields, EmptyIsEof) {
  EXPECT_EQ(ErrorOf(""), "EOF");
  EXPECT_EQ(ErrorOf("\n"), "EOF");
  EXPECT_EQ(ErrorOf("\r\n"), "EOF");
}

TEST(CsvValueFields, BareQuoteError) {
  EXPECT_EQ(ErrorOf("ab\"c"), "parse error on line 1, column 3: bare \" in non-quoted-field");
  EXPECT_EQ(ErrorOf("a,b\""), "parse error on line 1, column 4: bare \" in non-quoted-field");
}

TEST(CsvValueFields, ExtraneousQuoteError) {
  // Text after a closing quote.
  EXPECT_EQ(ErrorOf("\"ab\"c"),
            "parse error on line 1, column 4: extraneous or missing \" in quoted-field");
  // Never closed: reported where the unclosed text starts.
  EXPECT_EQ(ErrorOf("\"abc"),
            "parse error on line 1, column 2: extraneous or missing \" in quoted-field");
  EXPECT_EQ(ErrorOf("x,\"a\"\"b"),
            "parse error on line 1, column 7: extraneous or missing \" in quoted-field");
}

TEST(CsvValueFields, ErrorIsInvalidArgument) {
  EXPECT_EQ(CsvValueFields("\"").status().code(), StatusCode::kInvalidArgument);
}

TEST(ReadCsvRecord, SplitsLikeGo) {
  struct Case {
    const char* in;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"a,b,c", {"a", "b", "c"}},
      {"id=x,\"src=a,b\"", {"id=x", "src=a,b"}},
      {"\"id=a\"\"b\"", {"id=a\"b"}},
      {"a,,b", {"a", "", "b"}},
      {"a,", {"a", ""}},
      {"\n\na,b", {"a", "b"}},
      {"a,b\nc,d", {"a", "b"}},
      {"a,b\r\n", {"a", "b"}},
      {"a\r", {"a"}},
      {"\"x\ny\",z", {"x\ny", "z"}},
      {"\"\"", {""}},
  };
  for (const auto& c : cases) {
    auto r = ReadCsvRecord(c.in);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.in;
  }
}

TEST(ReadCsvRecord, ErrorsLikeGo) {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"", "EOF"},
      {"\n\n", "EOF"},
      {"id=\"abc", "parse error on line 1, column 4: bare \" in non-quoted-field"},
      {"id=x,s\"rc", "parse error on line 1, column 7: bare \" in non-quoted-field"},
      {"id=x,src=\"a,b\"", "parse error on line 1, column 10: bare \" in non-quoted-field"},
      {"\"id=abc", "parse error on line 1, column 8: extraneous or missing \" in quoted-field"},
      {"\"id=a\"b", "parse error on line 1, column 6: extraneous or missing \" in quoted-field"},
      {"\"a\nb",
       "record on line 1; parse error on line 2, column 2: extraneous or missing \" in "
       "quoted-field"},
  };
  for (const auto& c : cases) {
    auto r = ReadCsvRecord(c.in);
    ASSERT_FALSE(r.ok()) << c.in;
    EXPECT_EQ(r.status().message(), c.want) << c.in;
  }
}

}  // namespace
}  // namespace latchkey::base
