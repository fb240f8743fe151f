#include "cli/registry_login_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <sstream>

#include "base/testutil.h"
#include "secure/docker_config.h"

namespace latchkey::cli {
namespace {

constexpr char kCanary[] = "CANARY-store-login-7e2f";

std::span<const uint8_t> B(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TypedCredential Cred(const std::string& user, const std::string& password) {
  auto p = SecretBuffer::CopyOf(B(password));
  EXPECT_TRUE(p.ok());
  return TypedCredential(user, std::move(*p));
}

Config WithEntry(const std::string& host, const std::string& provider, const std::string& ref) {
  Config c;
  RegistryHostConfig r;
  r.host = host;
  r.provider = provider;
  r.ref = ref;
  r.where = SourceMark{"/etc/latchkey/latchkey.yaml", 12, 5};
  c.registries.push_back(r);
  return c;
}

TEST(LoginDestination, TheHostsRegistriesEntryDecides) {
  auto none = LoginDestinationFor(Config(), "reg.test:5000");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, LoginDestination::kDockerConfig);
  auto docker = LoginDestinationFor(WithEntry("reg.test:5000", "dockerconfig", "reg.test:5000"),
                                    "reg.test:5000");
  ASSERT_TRUE(docker.ok());
  EXPECT_EQ(docker->kind, LoginDestination::kDockerConfig);
  auto other_host = LoginDestinationFor(WithEntry("other.test", "store", "ci-reg"), "reg.test");
  ASSERT_TRUE(other_host.ok());
  EXPECT_EQ(other_host->kind, LoginDestination::kDockerConfig);
  auto store = LoginDestinationFor(WithEntry("reg.test", "store", "ci-reg"), "reg.test");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->kind, LoginDestination::kEncryptedStore);
  EXPECT_EQ(store->ref, "ci-reg");
  EXPECT_EQ(
      LoginDestinationFor(WithEntry("reg.test", "file", "/etc/latchkey/reg.json"), "reg.test")
          .status()
          .ToString(),
      "FAILED_PRECONDITION: registries: entry for reg.test (/etc/latchkey/latchkey.yaml:12:5) "
      "takes the credential from provider \"file\" (/etc/latchkey/reg.json); latchkey login "
      "stores into the encrypted store (provider: store) or Docker's configuration (no "
      "provider, or provider: dockerconfig): update that source yourself");
}

class StoreLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("LATCHKEY_STORE_PWHASH_LIMITS", "min", 1);
    auto s = store::Store::Init(dir_.Join("secrets.db"),
                                store::KeySource::UnlockKeyFile(dir_.Join("unlock.key")), nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  // The stored value, parsed as the store provider's consumer (the registry client) parses it.
  docker_config::Auth Stored(const std::string& ref) {
    auto v = store_->Read(store::Reference{ref, 0});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    auto a = docker_config::ParseCredentialJson(v->data.bytes(), "stored login");
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return std::move(*a);
  }
  base::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(StoreLoginTest, ALoginIsAVersionOfTheSecretAndLogoutRemovesIt) {
  auto first = StoreLoginInStore(*store_, "ci-reg", "reg.test:5000", Cred("alice", "old-pw"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, "ci-reg@1");
  auto second = StoreLoginInStore(*store_, "ci-reg", "reg.test:5000", Cred("alice", kCanary));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, "ci-reg@2");
  docker_config::Auth a = Stored("ci-reg");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.username.data()), a.username.size()),
            "alice");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.password.data()), a.password.size()),
            kCanary);
  auto info = store_->Inspect(store::Reference{"ci-reg", 0});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->labels.at("latchkey.registry"), "reg.test:5000");

  std::ostringstream out;
  ASSERT_TRUE(LogoutFromStore(*store_, "ci-reg", "reg.test:5000", out).ok());
  EXPECT_EQ(out.str(), "Removing login credentials for reg.test:5000\n");
  EXPECT_EQ(store_->Inspect(store::Reference{"ci-reg", 0}).status().code(), StatusCode::kNotFound);
  std::ostringstream again;
  ASSERT_TRUE(LogoutFromStore(*store_, "ci-reg", "reg.test:5000", again).ok());
  EXPECT_EQ(again.str(), "Not logged in to reg.test:5000\n");
}

TEST_F(StoreLoginTest, ABadSecretNameIsTheStoresError) {
  auto r = StoreLoginInStore(*store_, "Bad Name", "reg.test", Cred("alice", kCanary));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find(kCanary), std::string::npos);
}

}  // namespace
}  // namespace latchkey::cli
