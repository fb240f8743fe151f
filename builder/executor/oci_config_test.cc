#include "builder/executor/oci_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "builder/executor/executor_test_util.h"

namespace latchkey::executor {
namespace {

using testing::Secret;

OciConfigInput Input() {
  OciConfigInput in;
  in.args = {"/bin/sh", "-c", "true"};
  in.env = {"PATH=/bin", "TOKEN=plain"};
  in.cwd = "/";
  in.user = {100, 101, {102}};
  in.hostname = "buildkitsandbox";
  in.rootfs_path = "/r";
  return in;
}

TEST(OciConfig, SecretEnvSplicedEscapedAndReplacesEntry) {
  char tmpl[] = "/tmp/lk-oci-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::vector<SecretEnv> env = {{"TOKEN", Secret("q\"uo\\te\nline")}, {"EMPTY", nullptr}};
  auto config = BuildOciConfig(Input(), env);
  ASSERT_TRUE(WriteOciConfig(dir + "/config.json", config, env).ok());
  std::ifstream f(dir + "/config.json");
  auto parsed = nlohmann::json::parse(f);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(parsed["process"]["env"],
            nlohmann::json({"PATH=/bin", "TOKEN=q\"uo\\te\nline", "EMPTY="}));
  EXPECT_EQ(parsed["process"]["user"]["additionalGids"], nlohmann::json({102}));
  EXPECT_EQ(parsed["hostname"], "buildkitsandbox");
  EXPECT_EQ(parsed["process"]["capabilities"]["bounding"].size(), 14u);
  // The in-memory config never holds the value.
  EXPECT_EQ(config.dump().find("uo"), std::string::npos);
}

TEST(OciConfig, NetworkNamespaceOnlyForNone) {
  auto in = Input();
  auto host = BuildOciConfig(in, {});
  in.network = NetworkMode::kNone;
  auto none = BuildOciConfig(in, {});
  EXPECT_EQ(host["linux"]["namespaces"].size(), 4u);
  EXPECT_EQ(none["linux"]["namespaces"].size(), 5u);
  EXPECT_EQ(none["linux"]["namespaces"][4]["type"], "network");
  EXPECT_FALSE(host["linux"].contains("cgroupsPath"));
}

TEST(OciConfig, EnvSecretChecks) {
  EXPECT_TRUE(CheckEnvSecretValue("id", "N", *Secret("fine ✓")).ok());
  EXPECT_EQ(CheckEnvSecretValue("id", "N", *Secret("bad\xff")).message(),
            "secret id cannot be exposed as environment variable N: the value is not valid "
            "UTF-8; mount it as a file instead (drop env=, or add target=)");
}

}  // namespace
}  // namespace latchkey::executor
