#include "registry/helper_credential.h"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::registry {
namespace {

constexpr char kWhat[] = "secret registry:r from provider file (/c.json)";

Result<Credential> Parse(std::string_view json) {
  return ParseHelperCredential({reinterpret_cast<const uint8_t*>(json.data()), json.size()}, kWhat);
}

std::string Text(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(HelperCredential, UsernameAndPassword) {
  auto c = Parse(R"({"ServerURL":"r","Username":"alice","Secret":"p\u0040ss"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Text(c->username), "alice");
  EXPECT_EQ(Text(c->password), "p@ss");
  EXPECT_TRUE(c->identity_token.empty());
}

TEST(HelperCredential, TokenUsernameMeansIdentityToken) {
  auto c = Parse(R"({"ServerURL":"r","Username":"<token>","Secret":"refresh-1"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->username.empty());
  EXPECT_TRUE(c->password.empty());
  EXPECT_EQ(Text(c->identity_token), "refresh-1");
}

TEST(HelperCredential, BadValuesNameTheSecretNeverTheValue) {
  EXPECT_EQ(
      Parse(R"({"Username":"alice"})").status().message(),
      std::string(kWhat) + " is not a credential helper's answer: it has no \"Secret\" string");
  EXPECT_EQ(
      Parse(R"({"Secret":"Canary-x"})").status().message(),
      std::string(kWhat) + " is not a credential helper's answer: it has no \"Username\" string");
  EXPECT_EQ(Parse(R"({"Username":"alice","Secret":""})").status().message(),
            std::string(kWhat) + " has an empty \"Secret\"");
  auto bad = Parse("alice:Canary-x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("Canary-x"), std::string::npos);
  EXPECT_EQ(bad.status().message().rfind(
                std::string(kWhat) + " is not a credential helper's answer: ", 0),
            0u)
      << bad.status().message();
}

}  // namespace
}  // namespace latchkey::registry
