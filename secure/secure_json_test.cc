#include "secure/secure_json.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

std::span<const uint8_t> B(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Str(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(SecureJson, StringsKeysAndErrors) {
  std::string j = R"( {"a": [1, {"x": "y"}], "b": {"c": "\u00e9\ud83d\ude00\n", "n": null}} )";
  auto c = SecureJsonString(B(j), {"b", "c"}, "doc");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Str(*c), "\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_EQ(*SecureJsonKeys(B(j), {}, "doc"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SecureJsonString(B(j), {"b", "n"}, "doc").status().message(),
            "doc: b.n is not a string");
  EXPECT_EQ(SecureJsonString(B(j), {"z"}, "doc").status().message(), "doc has no member z");
  std::string bad = R"({"a": "secret-value)";
  EXPECT_EQ(SecureJsonString(B(bad), {"a"}, "doc").status().message(),
            "doc is not valid JSON (at byte 19)");
}

TEST(SecureJson, ObjectLayoutGivesByteOffsets) {
  std::string j = R"({"a": 1, "b" : {"c": "d"} })";
  auto l = SecureJsonObjectLayout(B(j), {}, "doc");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->open, 0u);
  EXPECT_EQ(l->close, j.size() - 1);
  ASSERT_EQ(l->members.size(), 2u);
  EXPECT_EQ(l->members[1].name, "b");
  EXPECT_EQ(j.substr(l->members[1].key_begin, 3), "\"b\"");
  EXPECT_EQ(
      j.substr(l->members[1].value_begin, l->members[1].value_end - l->members[1].value_begin),
      R"({"c": "d"})");
  auto empty = SecureJsonObjectLayout(B(" { } "), {}, "doc");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->open, 1u);
  EXPECT_EQ(empty->close, 3u);
  EXPECT_EQ(SecureJsonObjectLayout(B(j), {"a"}, "doc").status().message(),
            "doc: a is not an object");
}

TEST(SecureJson, QuoteEscapesAndRoundTrips) {
  auto q = SecureJsonQuote(B(std::string("p\"w\\d\n\x01\xc3\xa9", 9)));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Str(*q), "\"p\\\"w\\\\d\\u000a\\u0001\xc3\xa9\"");
  auto doc = SecureConcat({B("{\"k\":"), q->bytes(), B("}")});
  ASSERT_TRUE(doc.ok());
  auto back = SecureJsonString(doc->bytes(), {"k"}, "doc");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(Str(*back), std::string("p\"w\\d\n\x01\xc3\xa9", 9));
  auto none = SecureConcat({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace latchkey
