// Broker-level fetches through the store plugin: the broker's PluginLoader dlopens
// $LATCHKEY_BUILD_DIR/lib/latchkey/providers/latchkey-store.so and ProviderInstance drives it
// exactly as a build session would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/plugin_config.h"
#include "broker/plugin_loader.h"
#include "broker/provider_instance.h"
#include "store/store.h"

namespace latchkey {
namespace {

std::string BuildDir() {
  if (const char* env = std::getenv("LATCHKEY_BUILD_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string View(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class StorePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("LATCHKEY_STORE_PWHASH_LIMITS", "min", 1);
    char tmpl[] = "/tmp/lk-store-plugin-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    db_ = dir_ + "/secrets.db";
    key_ = dir_ + "/unlock.key";
    auto s = store::Store::Init(db_, store::KeySource::UnlockKeyFile(key_), nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Create("ci-npmrc", Bytes("token=v1"), {}).ok());
    ASSERT_TRUE((*s)->Rotate("ci-npmrc", Bytes("token=v2")).ok());
    ASSERT_TRUE((*s)->Rotate("ci-npmrc", Bytes("token=v3")).ok());
    ASSERT_TRUE((*s)->Create("pip-conf", Bytes("[global]"), {}).ok());
    auto lib = PluginLoader::Load(BuildDir() + "/lib/latchkey/providers/latchkey-store.so");
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    lib_ = *lib;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<ProviderInstance>> Instance(std::vector<ConfigValue> config) {
    return ProviderInstance::Create(lib_, config);
  }
  std::unique_ptr<ProviderInstance> KeyFileInstance() {
    auto inst =
        Instance({ConfigValue::Text("path", db_), ConfigValue::Text("unlock_key_file", key_)});
    EXPECT_TRUE(inst.ok()) << inst.status().ToString();
    return inst.ok() ? std::move(inst).value() : nullptr;
  }
  static FetchRequest Req(std::string ref) {
    FetchRequest r;
    r.ref = std::move(ref);
    r.secret_id = "npmrc";
    r.session_id = "s1";
    return r;
  }

  std::string dir_, db_, key_;
  std::shared_ptr<PluginLibrary> lib_;
};

TEST_F(StorePluginTest, TableDeclaresCapabilities) {
  EXPECT_EQ(lib_->name(), "store");
  EXPECT_EQ(lib_->api()->capabilities, uint64_t{LK_CAP_VERSIONS | LK_CAP_LIST | LK_CAP_HEALTH});
  EXPECT_EQ(lib_->api()->threading, uint32_t{LK_THREADING_CONCURRENT});
}

TEST_F(StorePluginTest, FetchesLatestAndNamedVersions) {
  auto inst = KeyFileInstance();
  ASSERT_NE(inst, nullptr);
  auto latest = inst->Fetch(Req("ci-npmrc"));
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(View(latest->value), "token=v3");
  EXPECT_EQ(latest->version, "3");
  EXPECT_TRUE(latest->value.sealed());
  auto v2 = inst->Fetch(Req("ci-npmrc@2"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(View(v2->value), "token=v2");
  EXPECT_EQ(v2->version, "2");
  EXPECT_EQ(View(inst->Fetch(Req("pip-conf"))->value), "[global]");
  // A secret rotated after the instance opened is served at once.
  {
    auto s = store::Store::Open(db_, store::KeySource::UnlockKeyFile(key_));
    ASSERT_TRUE((*s)->Rotate("pip-conf", Bytes("[global]\nindex-url=x")).ok());
    ASSERT_TRUE((*s)->RekeyData().ok());
  }
  auto rotated = inst->Fetch(Req("pip-conf"));
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->version, "2");
  EXPECT_EQ(View(rotated->value), "[global]\nindex-url=x");
}

TEST_F(StorePluginTest, ErrorsNameTheSecret) {
  auto inst = KeyFileInstance();
  ASSERT_NE(inst, nullptr);
  auto missing = inst->Fetch(Req("nope"));
  EXPECT_EQ(missing.status(), NotFoundError("provider store: secret nope not found"));
  auto no_version = inst->Fetch(Req("ci-npmrc@7"));
  EXPECT_EQ(no_version.status(),
            NotFoundError("provider store: secret ci-npmrc has no version 7 (latest is 3)"));
  auto bad = inst->Fetch(Req("ci/npmrc@2"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(inst->instance_block_count(), 0u);
}

TEST_F(StorePluginTest, ListAndHealth) {
  auto inst = KeyFileInstance();
  ASSERT_NE(inst, nullptr);
  auto list = inst->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(*list, (std::vector<std::string>{"ci-npmrc", "pip-conf"}));
  EXPECT_TRUE(inst->Health().ok());
  {
    auto s = store::Store::Open(db_, store::KeySource::UnlockKeyFile(key_));
    ASSERT_TRUE((*s)->RekeyKek(store::KeySource::UnlockKeyFile(key_), nullptr).ok());
  }
  Status h = inst->Health();
  EXPECT_EQ(h.code(), StatusCode::kUnauthenticated) << h.ToString();
  EXPECT_EQ(h.message(), "provider store: wrong unlock key or passphrase for store " + db_ +
                             " (the store was rekeyed since it was opened)");
}

TEST_F(StorePluginTest, PassphraseFromFileDescriptor) {
  std::string pdb = dir_ + "/p.db";
  {
    auto pass = SecretBuffer::CopyOf(Bytes("correct horse")).value();
    auto s = store::Store::Init(pdb, store::KeySource::Passphrase(std::move(pass)), nullptr);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Create("a", Bytes("alpha"), {}).ok());
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "correct horse\n", 14), 14);
  ::close(fds[1]);
  auto inst = Instance(
      {ConfigValue::Text("path", pdb), ConfigValue::Text("passphrase_fd", std::to_string(fds[0]))});
  ::close(fds[0]);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto got = (*inst)->Fetch(Req("a@1"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(View(got->value), "alpha");
  EXPECT_EQ(got->version, "1");
}

TEST_F(StorePluginTest, ConfigErrors) {
  auto both = Instance({ConfigValue::Text("path", db_), ConfigValue::Text("unlock_key_file", key_),
                        ConfigValue::Text("passphrase_fd", "0")});
  EXPECT_EQ(
      both.status(),
      InvalidArgumentError("provider store: set exactly one of unlock_key_file and passphrase_fd"));
  auto neither = Instance({ConfigValue::Text("path", db_)});
  EXPECT_EQ(neither.status().code(), StatusCode::kInvalidArgument);
  std::string other_key = dir_ + "/other.key";
  {
    auto s =
        store::Store::Init(dir_ + "/o.db", store::KeySource::UnlockKeyFile(other_key), nullptr);
    ASSERT_TRUE(s.ok());
  }
  auto wrong =
      Instance({ConfigValue::Text("path", db_), ConfigValue::Text("unlock_key_file", other_key)});
  EXPECT_EQ(wrong.status(), UnauthenticatedError(
                                "provider store: wrong unlock key or passphrase for store " + db_));
  auto missing = Instance(
      {ConfigValue::Text("path", dir_ + "/none.db"), ConfigValue::Text("unlock_key_file", key_)});
  EXPECT_EQ(missing.status(),
            FailedPreconditionError("provider store: store " + dir_ +
                                    "/none.db does not exist; create it with `latchkey store "
                                    "init`"));
}

}  // namespace
}  // namespace latchkey
