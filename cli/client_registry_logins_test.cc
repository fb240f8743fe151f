// ClientRegistryLogins: the logins `latchkey build --host` serves to latchkeyd, read through the
// bundled provider plugins as an embedded pull would read them (no broker, no policy, no audit).
#include "cli/client_registry_logins.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/testutil.h"

namespace latchkey::cli {
namespace {

namespace fs = std::filesystem;

std::string ProvidersDir() {
  const char* build = std::getenv("LATCHKEY_BUILD_DIR");
  return std::string(build ? build : "build") + "/lib/latchkey/providers";
}

std::string Str(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

PluginConfig Plugin(const std::string& name, std::vector<std::pair<std::string, std::string>> cfg) {
  PluginConfig p;
  p.name = name;
  p.path = ProvidersDir() + "/latchkey-" + name + ".so";
  p.isolation = Isolation::kInline;
  p.config = std::move(cfg);
  return p;
}

class ClientRegistryLoginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    docker_config_ = dir_.path() + "/config.json";
    // "bob:docker-canary-9" in base64, and an identity token for another host.
    std::ofstream(docker_config_)
        << R"({"auths":{"reg.test:5000":{"auth":"Ym9iOmRvY2tlci1jYW5hcnktOQ=="},)"
        << R"("tok.test":{"identitytoken":"token-canary-3"}}})";
    file_login_ = dir_.path() + "/reg.json";
    std::ofstream(file_login_)
        << R"({"ServerURL":"files.test","Username":"carol","Secret":"file-canary-5"})";
    config_.plugins.push_back(Plugin("file", {}));
    config_.plugins.push_back(Plugin("dockerconfig", {{"config_file", docker_config_}}));
    RegistryHostConfig r;
    r.host = "files.test";
    r.provider = "file";
    r.ref = file_login_;
    config_.registries.push_back(r);
  }

  base::testing::TempDir dir_;
  std::string docker_config_;
  std::string file_login_;
  Config config_;
};

TEST_F(ClientRegistryLoginsTest, DockerConfigLoginForAHostWithoutEntry) {
  ClientRegistryLogins logins(config_);
  auto login = logins.Lookup("reg.test:5000");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  ASSERT_NE(login->username, nullptr);
  EXPECT_EQ(Str(*login->username), "bob");
  EXPECT_EQ(Str(*login->secret), "docker-canary-9");
  auto token = logins.Lookup("tok.test");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->username, nullptr);
  EXPECT_EQ(Str(*token->secret), "token-canary-3");
}

TEST_F(ClientRegistryLoginsTest, TheRegistriesEntrysProviderServesItsHost) {
  ClientRegistryLogins logins(config_);
  auto source = logins.SourceFor("files.test");
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(source->first, "file");
  auto login = logins.Lookup("files.test");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(Str(*login->username), "carol");
  EXPECT_EQ(Str(*login->secret), "file-canary-5");
}

TEST_F(ClientRegistryLoginsTest, NoLoginIsNotFound) {
  ClientRegistryLogins logins(config_);
  auto login = logins.Lookup("other.test");
  ASSERT_FALSE(login.ok());
  EXPECT_EQ(login.status().code(), StatusCode::kNotFound);
  Config bare;
  ClientRegistryLogins none(bare);
  auto missing = none.Lookup("other.test");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "no login for other.test: the configuration's registries map has no entry "
            "\"other.test\" and no dockerconfig provider is configured");
}

TEST_F(ClientRegistryLoginsTest, AnEntryNamingAnUnconfiguredProviderFails) {
  RegistryHostConfig r;
  r.host = "vault.test";
  r.provider = "vault";
  r.ref = "kv/reg";
  config_.registries.push_back(r);
  ClientRegistryLogins logins(config_);
  auto login = logins.Lookup("vault.test");
  ASSERT_FALSE(login.ok());
  EXPECT_EQ(login.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(login.status().message(),
            "registries: entry for vault.test names provider \"vault\", which is not "
            "configured");
}

TEST_F(ClientRegistryLoginsTest, AMalformedValueIsNamedWithoutItsBytes) {
  std::ofstream(file_login_) << R"({"ServerURL":"files.test","Username":"carol"})";
  ClientRegistryLogins logins(config_);
  auto login = logins.Lookup("files.test");
  ASSERT_FALSE(login.ok());
  EXPECT_EQ(login.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(login.status().message(),
            "registry login for files.test from provider file has no Username/Secret");
}

}  // namespace
}  // namespace latchkey::cli
