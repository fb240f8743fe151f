#include "cli/daemon_client.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <string>

#include "base/file.h"

namespace latchkey::cli {
namespace {

class ChooseHostTest : public ::testing::Test {
 protected:
  EnvLookup Env() {
    return [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
  }
  HostChoice Choose() { return ChooseHost(global_, config_, Env()); }

  GlobalOptions global_;
  Config config_;
  std::map<std::string, std::string> env_;
};

TEST_F(ChooseHostTest, NothingSetIsEmbedded) {
  HostChoice h = Choose();
  EXPECT_EQ(h.host, "");
  EXPECT_EQ(h.origin, "");
  EXPECT_FALSE(ExplicitDaemonHost(global_, Env()));
}

TEST_F(ChooseHostTest, FlagThenEnvThenConfig) {
  config_.host = "unix:///run/config.sock";
  config_.host_where = {"/etc/latchkey/latchkey.yaml", 3, 7};
  HostChoice h = Choose();
  EXPECT_EQ(h.host, "unix:///run/config.sock");
  EXPECT_EQ(h.origin, "host: in /etc/latchkey/latchkey.yaml:3:7");
  EXPECT_FALSE(ExplicitDaemonHost(global_, Env()));

  env_["LATCHKEY_HOST"] = "";  // empty: not set
  EXPECT_EQ(Choose().host, "unix:///run/config.sock");
  env_["LATCHKEY_HOST"] = "unix:///run/env.sock";
  h = Choose();
  EXPECT_EQ(h.host, "unix:///run/env.sock");
  EXPECT_EQ(h.origin, "");
  EXPECT_TRUE(ExplicitDaemonHost(global_, Env()));

  global_.host = "unix:///run/flag.sock";
  global_.host_given = true;
  h = Choose();
  EXPECT_EQ(h.host, "unix:///run/flag.sock");
  EXPECT_EQ(h.origin, "");
}

TEST_F(ChooseHostTest, EmbeddedAtEveryLevelStopsTheSearch) {
  config_.host = "unix:///run/config.sock";
  env_["LATCHKEY_HOST"] = "embedded";
  EXPECT_EQ(Choose().host, "");
  EXPECT_FALSE(ExplicitDaemonHost(global_, Env()));

  env_["LATCHKEY_HOST"] = "unix:///run/env.sock";
  global_.host = "embedded";
  global_.host_given = true;
  EXPECT_EQ(Choose().host, "");
  global_.host = "";  // --host ""
  EXPECT_EQ(Choose().host, "");
  EXPECT_FALSE(ExplicitDaemonHost(global_, Env()));

  global_ = GlobalOptions();
  env_.clear();
  config_.host = "embedded";
  EXPECT_EQ(Choose().host, "");
}

TEST_F(ChooseHostTest, AddHostOptionRecordsAnEmptyFlag) {
  CLI::App app;
  AddHostOption(&app, &global_);
  const char* argv[] = {"latchkey", "--host", ""};
  app.parse(3, const_cast<char**>(argv));
  EXPECT_TRUE(global_.host_given);
  EXPECT_EQ(global_.host, "");

  GlobalOptions other;
  CLI::App app2;
  AddHostOption(&app2, &other);
  const char* none[] = {"latchkey"};
  app2.parse(1, const_cast<char**>(none));
  EXPECT_FALSE(other.host_given);
}

// The origin of a daemon named by the configuration is in the unreachable-daemon error.
TEST(ConnectDaemon, UnreachableNamesTheOrigin) {
  auto dir = base::MakeTempDir("/tmp", "lk-connect-");
  ASSERT_TRUE(dir.ok());
  std::string host = "unix://" + *dir + "/nope.sock";
  auto ch = ConnectDaemon(host, "host: in /w/lk.yaml:1:7");
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().message(), "cannot reach latchkeyd at " + host +
                                       " (host: in /w/lk.yaml:1:7): No such file or directory");
  ch = ConnectDaemon(host);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().message(),
            "cannot reach latchkeyd at " + host + ": No such file or directory");
  ch = ConnectDaemon("tcp://127.0.0.1:1");
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().message(), "invalid --host tcp://127.0.0.1:1: want unix:///absolute/path");
  (void)base::RemoveAll(*dir);
}

}  // namespace
}  // namespace latchkey::cli
