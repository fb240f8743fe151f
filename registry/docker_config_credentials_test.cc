#include "registry/docker_config_credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

namespace latchkey::registry {
namespace {

std::string Str(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class DockerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/lk-dockercfg.XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    dir_ = t;
    path_ = dir_ + "/config.json";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string dir_, path_;
};

TEST_F(DockerConfigTest, AuthEntryByHostAndScheme) {
  // "alice:s3cr\u00e9t:x" (a password may hold ':'), base64.
  Write(
      R"({"auths":{"other":{"auth":"eDp5"},"https://reg.example:5000/v1/":{"auth":"YWxpY2U6czNjcnQ6eA=="}}})");
  DockerConfigCredentials src(path_);
  auto c = src.Get("reg.example:5000", "app", "pull");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Str(c->username), "alice");
  EXPECT_EQ(Str(c->password), "s3crt:x");
  EXPECT_TRUE(c->identity_token.empty());
  EXPECT_EQ(c->source, "docker config " + path_);
  auto none = src.Get("elsewhere", "app", "pull");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "docker config " + path_ + " has no credential for elsewhere");
}

TEST_F(DockerConfigTest, DockerHubAndIdentityToken) {
  Write(R"({"auths":{"https://index.docker.io/v1/":{"auth":"","identitytoken":"tok\/en"}}})");
  auto c = DockerConfigCredentials(path_).Get("docker.io", "library/debian", "pull");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Str(c->identity_token), "tok/en");
  EXPECT_TRUE(c->username.empty());
}

TEST_F(DockerConfigTest, MalformedEntryNeverEchoesTheValue) {
  Write(R"({"auths":{"h":{"auth":"CANARY-not-base64!!"}}})");
  auto c = DockerConfigCredentials(path_).Get("h", "app", "pull");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "docker config " + path_ + ": auths.h.auth is not base64 of user:password");
  Write(R"({"auths":{"h":{"auth":"Q0FOQVJZ"}}})");  // "CANARY": no colon
  c = DockerConfigCredentials(path_).Get("h", "app", "pull");
  EXPECT_EQ(c.status().message(),
            "docker config " + path_ + ": auths.h.auth is not base64 of user:password");
  Write(R"({"auths":{"h":{"auth":"CANARY)");
  c = DockerConfigCredentials(path_).Get("h", "app", "pull");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("CANARY"), std::string::npos) << c.status().message();
}

TEST_F(DockerConfigTest, MissingFileIsNotFound) {
  auto c = DockerConfigCredentials(dir_ + "/nope.json").Get("h", "app", "pull");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DockerConfigCredentials::DefaultPath({{"HOME", "/home/u"}}),
            "/home/u/.docker/config.json");
  EXPECT_EQ(DockerConfigCredentials::DefaultPath({{"HOME", "/home/u"}, {"DOCKER_CONFIG", "/d"}}),
            "/d/config.json");
}

}  // namespace
}  // namespace latchkey::registry
