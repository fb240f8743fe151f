#include "builder/executor/config_feeder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "builder/executor/executor_test_util.h"

namespace latchkey::executor {
namespace {

using testing::Secret;

class ConfigFeederTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lk-feeder-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/config.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  nlohmann::json Config(const std::vector<SecretEnv>& env) {
    OciConfigInput in;
    in.args = {"/bin/sh", "-c", "true"};
    in.env = {"PATH=/bin"};
    in.cwd = "/";
    in.rootfs_path = "/r";
    return BuildOciConfig(in, env);
  }
  std::string dir_, path_;
};

TEST_F(ConfigFeederTest, TheConfigIsAPipeThatServesTheSplicedConfigOnce) {
  std::vector<SecretEnv> env = {{"TOKEN", Secret("feeder-canary")}};
  ConfigFeeder feeder;
  ASSERT_TRUE(feeder.Start(path_, Config(env), env).ok());
  struct stat st;
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path_);  // what runc does
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = nlohmann::json::parse(text.str());
  EXPECT_EQ(parsed["process"]["env"], nlohmann::json({"PATH=/bin", "TOKEN=feeder-canary"}));
  Status st2 = feeder.Finish();
  EXPECT_TRUE(st2.ok()) << st2.ToString();
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);  // gone
}

TEST_F(ConfigFeederTest, FinishWithoutAReaderDoesNotHang) {
  // The runtime failed before it read its config.
  std::vector<SecretEnv> env = {{"TOKEN", Secret("feeder-canary")}};
  ConfigFeeder feeder;
  ASSERT_TRUE(feeder.Start(path_, Config(env), env).ok());
  EXPECT_TRUE(feeder.Finish().ok());
  EXPECT_TRUE(feeder.Finish().ok());  // idempotent
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(ConfigFeederTest, AnExistingPathIsRefused) {
  std::ofstream(path_) << "x";
  ConfigFeeder feeder;
  EXPECT_EQ(feeder.Start(path_, Config({}), {}).message(), "mkfifo " + path_ + ": File exists");
}

}  // namespace
}  // namespace latchkey::executor
