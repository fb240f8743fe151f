#include "secure/redactor.h"

#include <gtest/gtest.h>

#include <cstring>

namespace latchkey {
namespace {

std::shared_ptr<const SecretBuffer> Secret(const char* s) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(s), std::strlen(s)});
  EXPECT_TRUE(buf.ok());
  return std::make_shared<const SecretBuffer>(std::move(*buf));
}

TEST(Redactor, MasksRawBase64AndHexForms) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("canary-7d1e")).ok());
  // base64("canary-7d1e") = Y2FuYXJ5LTdkMWU=, hex = 63616e6172792d37643165
  EXPECT_EQ(reg.Redact("token=canary-7d1e end"), "token=**** end");
  EXPECT_EQ(reg.Redact("b64 Y2FuYXJ5LTdkMWU= and Y2FuYXJ5LTdkMWU"), "b64 **** and ****");
  EXPECT_EQ(reg.Redact("hex 63616e6172792d37643165 HEX 63616E6172792D37643165"),
            "hex **** HEX ****");
  EXPECT_EQ(reg.Redact("nothing here"), "nothing here");
  EXPECT_TRUE(reg.Contains("xxcanary-7d1exx"));
  EXPECT_FALSE(reg.Contains("canary-7d1"));
}

TEST(Redactor, MasksBase64AtEveryAlignment) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("s3cr3t-v4lue?")).ok());
  // base64 of the value after 0, 1, 2 and 5 other bytes (the last how Docker's config.json
  // `auth` is made), standard and URL-safe; only the prefix's own characters may stay.
  EXPECT_EQ(reg.Redact("czNjcjN0LXY0bHVlPw=="), "****");                              // value
  EXPECT_EQ(reg.Redact("OnMzY3IzdC12NGx1ZT8="), "O****");                             // ":" value
  EXPECT_EQ(reg.Redact("YTpzM2NyM3QtdjRsdWU/"), "YT****");                            // "a:" value
  EXPECT_EQ(reg.Redact("YTpzM2NyM3QtdjRsdWU_"), "YT****");                            // URL-safe
  EXPECT_EQ(reg.Redact("auth dXNlcjpzM2NyM3QtdjRsdWU/ end"), "auth dXNlcj**** end");  // "user:"
  EXPECT_EQ(reg.Redact("dXNlcjpzM2NyM3QtdjRsdWU/eA=="), "dXNlcj****eA==");  // "user:" value "x"
}

TEST(Redactor, MasksTheCredentialPartsOfAStructuredValue) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("registry=https://registry.example.com/\n"
                             "//registry.example.com/:_authToken=npm_tok3n42\n"))
                  .ok());
  ASSERT_TRUE(reg.Add(Secret("[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n")).ok());
  EXPECT_EQ(reg.Redact("token is npm_tok3n42."), "token is ****.");
  EXPECT_EQ(reg.Redact("b64 bnBtX3RvazNuNDI="), "b64 ****");
  EXPECT_EQ(reg.Redact("key wJalrXUtnFEMI/K7MDENG"), "key ****");
  // The non-secret URL of the .npmrc is not a part.
  EXPECT_EQ(reg.Redact("https://registry.example.com/"), "https://registry.example.com/");
}

TEST(Redactor, OverlappingMatchesLeaveNoFragment) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("abcabc")).ok());
  EXPECT_EQ(reg.Redact("xabcabcabcx"), "x****x");
}

TEST(Redactor, RemoveStopsMasking) {
  SecretRegistry reg;
  auto h = reg.Add(Secret("s3cr3t-value"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(reg.Redact("s3cr3t-value"), "****");
  reg.Remove(*h);
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.Redact("s3cr3t-value"), "s3cr3t-value");
}

TEST(Redactor, EmptySecretNeverMatches) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("")).ok());
  EXPECT_EQ(reg.Redact("abc"), "abc");
}

}  // namespace
}  // namespace latchkey
