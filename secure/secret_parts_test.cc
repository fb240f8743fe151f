#include "secure/secret_parts.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace latchkey {
namespace {

// The parts of `value` as "rule:bytes" (test-only copies of test values).
std::vector<std::string> Parts(std::string_view value) {
  auto parts = DeriveSecretParts({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  EXPECT_TRUE(parts.ok());
  std::vector<std::string> out;
  for (const auto& p : *parts) {
    EXPECT_TRUE(p.value.sealed());
    out.push_back(std::string(p.rule) + ":" +
                  std::string(reinterpret_cast<const char*>(p.value.data()), p.value.size()));
  }
  return out;
}

using V = std::vector<std::string>;

TEST(SecretParts, NpmrcTokensAndBasicAuth) {
  // _auth = base64("alice:pa55word"), _password = base64("hunter22")
  EXPECT_EQ(Parts("registry=https://registry.npmjs.org/\n"
                  "//registry.npmjs.org/:_authToken=npm_abcdEFGH1234\n"
                  "//other.example/:_auth=\"YWxpY2U6cGE1NXdvcmQ=\"\n"
                  "//other.example/:_password=aHVudGVyMjI=\n"
                  "always-auth=true\n"
                  "# _authToken=commented-out-value\n"),
            (V{"key:npm_abcdEFGH1234", "key:YWxpY2U6cGE1NXdvcmQ=", "key:pa55word",
               "key:aHVudGVyMjI=", "key:hunter22"}));
}

TEST(SecretParts, AwsCredentialsAndGenericValues) {
  EXPECT_EQ(
      Parts("[default]\r\naws_access_key_id = AKIAEXAMPLE0\r\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG\r\n"
            "aws_session_token: 'FwoGZXIvYXdzEJr'\r\nregion = us-east-1\r\nshort=abc\r\n"),
      (V{"key:AKIAEXAMPLE0", "key:wJalrXUtnFEMI/K7MDENG", "key:FwoGZXIvYXdzEJr", "key:us-east-1"}));
}

TEST(SecretParts, NetrcPasswordsAndUrlPasswords) {
  EXPECT_EQ(Parts("machine git.example.com login bob password s3cretPW\n"
                  "machine b login x password tiny\n"),
            (V{"netrc:s3cretPW", "netrc:tiny"}));
  EXPECT_EQ(Parts("url https://deploy:t0k%2Fen@git.example.com/repo.git and "
                  "redis://:redispass@cache:6379/0 ftp://anon@host/"),
            (V{"url:t0k%2Fen", "url:t0k/en", "url:redispass"}));
}

TEST(SecretParts, DockerConfigJson) {
  // auth = base64("user:dockerpw1")
  EXPECT_EQ(Parts("{\"auths\": {\"registry.example.com\": {\"auth\": \"dXNlcjpkb2NrZXJwdzE=\","
                  " \"identitytoken\": \"idtok-1234\"}}, \"credsStore\": \"desktop-helper\"}"),
            (V{"json:dXNlcjpkb2NrZXJwdzE=", "json:dockerpw1", "json:idtok-1234"}));
}

TEST(SecretParts, DockerCredentialHelperJson) {
  // The value the dockerconfig provider serves for registry:<host> (docs/providers.md): its
  // Secret is a part, so a password or token is redacted on its own too.
  EXPECT_EQ(Parts(R"({"ServerURL":"registry.example.com","Username":"ci-bot",)"
                  R"("Secret":"helperpw-5678"})"),
            (V{"json:helperpw-5678"}));
}

TEST(SecretParts, PemBlocksAndEscapedJsonKeys) {
  const std::string body1 = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
  const std::string body2 = "BKcwggSjAgEAAoIBAQC7";
  const std::string pem =
      "-----BEGIN PRIVATE KEY-----\n" + body1 + "\n" + body2 + "\n-----END PRIVATE KEY-----";
  EXPECT_EQ(Parts("key:\n" + pem + "\n"),
            (V{"pem:" + pem, "pem:" + body1, "pem:" + body2, "pem:" + body1 + body2}));
  const std::string escaped =
      "-----BEGIN PRIVATE KEY-----\\n" + body1 + "\\n" + body2 + "\\n-----END PRIVATE KEY-----\\n";
  EXPECT_EQ(Parts("{\"type\": \"service_account\", \"private_key\": \"" + escaped + "\"}"),
            (V{"json:" + escaped, "json:" + pem + "\n", "pem:" + pem, "pem:" + body1,
               "pem:" + body2, "pem:" + body1 + body2}));
}

TEST(SecretParts, PlainTokenHasNoParts) {
  EXPECT_EQ(Parts("ghp_0123456789abcdefghijABCDEFGHIJ"), V{});
  EXPECT_EQ(Parts("password=whole"), V{"key:whole"});
  EXPECT_EQ(Parts(""), V{});
}

TEST(SecretParts, KeepsAtMostTheLimit) {
  std::string many;
  for (size_t i = 0; i < kMaxSecretParts + 10; ++i)
    many += "k" + std::to_string(i) + "=value" + std::to_string(100000 + i) + "\n";
  EXPECT_EQ(Parts(many).size(), kMaxSecretParts);
}

}  // namespace
}  // namespace latchkey
