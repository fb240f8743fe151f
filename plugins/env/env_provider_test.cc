// Tests of latchkey-env.so through the real loader and host (broker/provider_instance.h).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "broker/plugin_test_util.h"
#include "broker/provider_instance.h"

namespace latchkey {
namespace {

using plugintest::ProviderPath;
using plugintest::TestString;

std::shared_ptr<PluginLibrary> EnvLibrary() {
  auto lib = PluginLoader::Load(ProviderPath("env"));
  EXPECT_TRUE(lib.ok()) << lib.status().ToString();
  return lib.ok() ? *lib : nullptr;
}

ConfigValue Environment(const std::string& raw) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
  EXPECT_TRUE(buf.ok());
  return ConfigValue::Secret("environment", std::move(*buf));
}

Result<std::unique_ptr<ProviderInstance>> Create(std::vector<ConfigValue> config) {
  auto lib = EnvLibrary();
  if (lib == nullptr) return InternalError("no library");
  return ProviderInstance::Create(lib, config);
}

FetchRequest Req(const std::string& ref, const std::string& id = "sid") {
  FetchRequest r;
  r.ref = ref;
  r.secret_id = id;
  return r;
}

std::string Value(ProviderInstance& inst, const std::string& ref) {
  auto r = inst.Fetch(Req(ref));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? TestString(r->value) : "(error)";
}

TEST(EnvProvider, ServesVariablesFromTheHandedOverEnvironment) {
  const char kRaw[] = "A=1\0MULTI=two words\nline two=x\0EMPTY=\0DUP=first\0DUP=second\0";
  std::string raw(kRaw, sizeof(kRaw) - 1);
  auto inst = Create({Environment(raw)});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(Value(**inst, "A"), "1");
  EXPECT_EQ(Value(**inst, "MULTI"), "two words\nline two=x");
  EXPECT_EQ(Value(**inst, "EMPTY"), "");
  EXPECT_EQ(Value(**inst, "DUP"), "first");        // as getenv: the first entry wins
  EXPECT_EQ((*inst)->instance_block_count(), 1u);  // one snapshot block, values inside it
}

TEST(EnvProvider, TrailingNulIsOptional) {
  auto inst = Create({Environment(std::string("K=v\0L=w", 7))});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(Value(**inst, "L"), "w");
}

TEST(EnvProvider, UnsetVariable) {
  auto inst = Create({Environment(std::string("A=1\0", 4))});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ((*inst)->Fetch(Req("GIT_AUTH_TOKEN", "git")).status(),
            NotFoundError("provider env: secret git: environment variable GIT_AUTH_TOKEN is not "
                          "set"));
  EXPECT_EQ((*inst)->Fetch(Req("", "git")).status(),
            InvalidArgumentError("provider env: secret git: the env provider needs a variable "
                                 "name as the reference"));
}

TEST(EnvProvider, MalformedEnvironmentIsRefusedWithoutEchoingIt) {
  auto no_eq = Create({Environment(std::string("A=1\0hunter2\0", 12))});
  ASSERT_FALSE(no_eq.ok());
  EXPECT_EQ(no_eq.status(),
            InvalidArgumentError("provider env: config key \"environment\": entry 2 has no \"=\" "
                                 "(expected NAME=VALUE entries separated by NUL bytes)"));
  auto empty_name = Create({Environment(std::string("=hunter2\0", 9))});
  ASSERT_FALSE(empty_name.ok());
  EXPECT_EQ(empty_name.status(),
            InvalidArgumentError("provider env: config key \"environment\": entry 1 has an "
                                 "empty name"));
}

TEST(EnvProvider, WithoutConfigSnapshotsTheProcessEnvironmentAtCreate) {
  ASSERT_EQ(::setenv("LK_H3_SNAPSHOT", "before", 1), 0);
  ::unsetenv("LK_H3_LATER");
  auto inst = Create({});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  ASSERT_EQ(::setenv("LK_H3_SNAPSHOT", "after", 1), 0);
  ASSERT_EQ(::setenv("LK_H3_LATER", "x", 1), 0);
  EXPECT_EQ(Value(**inst, "LK_H3_SNAPSHOT"), "before");
  EXPECT_EQ((*inst)->Fetch(Req("LK_H3_LATER")).status(),
            NotFoundError("provider env: secret sid: environment variable LK_H3_LATER is not "
                          "set"));
  ::unsetenv("LK_H3_SNAPSHOT");
  ::unsetenv("LK_H3_LATER");
  EXPECT_EQ(Value(**inst, "LK_H3_SNAPSHOT"), "before");
}

TEST(EnvProvider, ListNamesVariablesOnly) {
  auto inst = Create({Environment(std::string("B=2\0A=1\0", 8))});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto refs = (*inst)->List();
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  std::sort(refs->begin(), refs->end());
  EXPECT_EQ(*refs, (std::vector<std::string>{"A", "B"}));
}

TEST(EnvProvider, OversizedValueIsRefused) {
  std::string raw =
      "BIG=" + std::string(512001, 'x') + std::string(1, '\0') + "OK=" + std::string(512000, 'y');
  auto inst = Create({Environment(raw)});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ((*inst)->Fetch(Req("BIG", "big")).status(),
            InvalidArgumentError("provider env: secret big too big. max size 500KiB"));
  EXPECT_EQ(Value(**inst, "OK").size(), 512000u);
}

TEST(EnvProvider, PlainTextEnvironmentIsHeldAsSecretToo) {
  // Handed over as text (e.g. from YAML), the value is still SECRET-flagged: never echoed.
  auto lib = EnvLibrary();
  ASSERT_NE(lib, nullptr);
  auto inst =
      ProviderInstance::Create(lib, {ConfigValue::Text("environment", std::string("X=1\0Y=2", 7))});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(Value(**inst, "Y"), "2");
}

}  // namespace
}  // namespace latchkey
