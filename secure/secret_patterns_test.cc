#include "secure/secret_patterns.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace latchkey {
namespace {

using Listed = std::vector<std::pair<std::string, std::string>>;  // (bytes, encoding)

Listed Patterns(std::string_view value) {
  auto got = SecretPatterns({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  if (!got.ok()) std::abort();
  Listed out;
  for (const auto& p : *got) {
    EXPECT_TRUE(p.bytes.sealed());
    out.emplace_back(std::string(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size()),
                     p.encoding);
  }
  return out;
}

TEST(SecretPatterns, EveryFormOfAValueInOrder) {
  EXPECT_EQ(Patterns("tok/en+k?y"), (Listed{
                                        {"tok/en+k?y", "raw"},
                                        {"dG9rL2VuK2s/e", "base64"},
                                        {"dG9rL2VuK2s_e", "base64url"},
                                        {"Rvay9lbitrP3", "base64"},
                                        {"0b2svZW4raz95", "base64"},
                                        {"746f6b2f656e2b6b3f79", "hex"},
                                        {"746F6B2F656E2B6B3F79", "HEX"},
                                        {"tok%2Fen%2Bk%3Fy", "url"},
                                        {"tok%2fen%2bk%3fy", "url"},
                                    }));
}

TEST(SecretPatterns, UrlAndHexFormsOnlyWhenTheyDiffer) {
  // Unreserved characters only: no URL form. Digits only: HEX equals hex.
  EXPECT_EQ(Patterns("12345678"), (Listed{
                                      {"12345678", "raw"},
                                      {"MTIzNDU2Nz", "base64"},
                                      {"EyMzQ1Njc4", "base64"},
                                      {"xMjM0NTY3O", "base64"},
                                      {"3132333435363738", "hex"},
                                  }));
  // Reserved characters without letters among their hex digits: one URL form.
  Listed spaced = Patterns("a b c d");
  EXPECT_EQ(spaced.back(), (std::pair<std::string, std::string>{"a%20b%20c%20d", "url"}));
  EXPECT_NE(spaced[spaced.size() - 2].second, "url");
}

TEST(SecretPatterns, PartsFollowTheValueWithPartNames) {
  Listed got = Patterns("//registry.example.com/:_authToken=npm_tok3n42\n");
  auto first_part = std::find_if(got.begin(), got.end(),
                                 [](const auto& p) { return p.second.rfind("part ", 0) == 0; });
  ASSERT_NE(first_part, got.end());
  EXPECT_EQ(*first_part, (std::pair<std::string, std::string>{"npm_tok3n42", "part raw"}));
  EXPECT_EQ(first_part[1].second, "part base64");
  for (auto it = first_part; it != got.end(); ++it) EXPECT_EQ(it->second.rfind("part ", 0), 0u);
  for (auto it = got.begin(); it != first_part; ++it) EXPECT_NE(it->second.rfind("part ", 0), 0u);
}

TEST(SecretPatterns, NoneForAnEmptyValue) { EXPECT_TRUE(Patterns("").empty()); }

}  // namespace
}  // namespace latchkey
