#include "broker/state_dir.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

TEST(StateDir, RootUsesVarLib) {
  auto d = ResolveStateDir("", {{"HOME", "/root"}, {"XDG_STATE_HOME", "/x"}}, 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "/var/lib/latchkey");
}

TEST(StateDir, UserPrefersXdgStateHome) {
  auto d = ResolveStateDir("", {{"HOME", "/home/u"}, {"XDG_STATE_HOME", "/home/u/st/"}}, 1000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "/home/u/st/latchkey");
}

TEST(StateDir, UserFallsBackToHome) {
  auto d = ResolveStateDir("", {{"HOME", "/home/u"}}, 1000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "/home/u/.local/state/latchkey");
}

TEST(StateDir, RelativeOrEmptyXdgIsIgnored) {
  auto d = ResolveStateDir("", {{"HOME", "/home/u"}, {"XDG_STATE_HOME", "rel"}}, 1000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "/home/u/.local/state/latchkey");
  d = ResolveStateDir("", {{"HOME", "/home/u"}, {"XDG_STATE_HOME", ""}}, 1000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "/home/u/.local/state/latchkey");
}

TEST(StateDir, ConfiguredWinsEvenForRoot) {
  auto d = ResolveStateDir("/srv/lk//state/", {}, 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "/srv/lk/state");
}

TEST(StateDir, NoHomeIsAnError) {
  auto d = ResolveStateDir("", {}, 1000);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(d.status().message(),
            "cannot choose a state directory: HOME is not set (or not absolute) and "
            "XDG_STATE_HOME is not set; set state_dir in the configuration file");
  EXPECT_FALSE(ResolveStateDir("", {{"HOME", "relative"}}, 1000).ok());
}

TEST(NormalizePath, Table) {
  EXPECT_EQ(NormalizePath("/a/./b/../c/"), "/a/c");
  EXPECT_EQ(NormalizePath("/../.."), "/");
  EXPECT_EQ(NormalizePath("/"), "/");
  EXPECT_EQ(NormalizePath("a//b"), "a/b");
  EXPECT_EQ(NormalizePath("../a"), "../a");
  EXPECT_EQ(NormalizePath(""), ".");
  EXPECT_EQ(JoinPath("/w", "x/../y"), "/w/y");
  EXPECT_EQ(JoinPath("/w", "/abs"), "/abs");
}

TEST(ConfigEnv, SnapshotsOnlyWhatIsAsked) {
  char a[] = "HOME=/h";
  char b[] = "TOKEN=s3cr3t";
  char c[] = "EMPTY=";
  char* envp[] = {a, b, c, nullptr};
  EnvMap m = SnapshotEnv(envp, {"HOME", "EMPTY", "MISSING"});
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(LookupEnv(m, "HOME"), "/h");
  EXPECT_EQ(LookupEnv(m, "EMPTY"), "");
  EXPECT_EQ(LookupEnv(m, "TOKEN"), std::nullopt);
  EnvNames names = SnapshotEnvNames(envp);
  EXPECT_EQ(names, (EnvNames{"EMPTY", "HOME", "TOKEN"}));
}

}  // namespace
}  // namespace latchkey
