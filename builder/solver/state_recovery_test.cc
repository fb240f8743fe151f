#include "builder/solver/state_recovery.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/owner_lock.h"
#include "builder/image/fs_util.h"

namespace latchkey::build {
namespace {

class StateRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A space in the path: mountinfo escapes it, MountsUnder must decode it.
    auto d = image::MakeTempDir("/tmp", "lk-recovery test-");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    state_ = *d;
  }
  void TearDown() override {
    auto left = MountsUnder(state_);
    if (left.ok()) {
      for (const auto& m : *left) ::umount2(m.path.c_str(), MNT_DETACH);
    }
    (void)image::RemoveAll(state_);
  }
  bool Exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
  }
  // A step as a killed build leaves it: bundle tmpfs with config.json, a secret tmpfs inside
  // it, a scratch dir, an unheld lock file.
  void DeadStep(const std::string& id) {
    std::string bundle = state_ + "/secrets/" + id;
    ASSERT_TRUE(image::MakeDirs(bundle, 0700).ok());
    ASSERT_EQ(::mount("tmpfs", bundle.c_str(), "tmpfs", 0, "mode=0700"), 0);
    std::ofstream(bundle + "/config.json") << "{\"env\":[\"TOK=canary\"]}";
    ASSERT_TRUE(image::MakeDirs(bundle + "/secret0", 0700).ok());
    ASSERT_EQ(::mount("tmpfs", (bundle + "/secret0").c_str(), "tmpfs", 0, "mode=0700"), 0);
    std::ofstream(bundle + "/secret0/f") << "canary";
    ASSERT_TRUE(image::MakeDirs(state_ + "/scratch/" + id + "/bind0", 0700).ok());
    std::ofstream(state_ + "/secrets/" + id + ".lock");
  }
  std::string state_;
};

TEST_F(StateRecoveryTest, NothingToDoOnAMissingOrCleanStateDir) {
  RecoveryReport report;
  EXPECT_TRUE(RecoverState(state_ + "/missing", "runc", &report).ok());
  EXPECT_TRUE(RecoverState(state_, "runc", &report).ok());
  EXPECT_TRUE(report.empty());
}

TEST_F(StateRecoveryTest, CleansADeadStepAndADeadBuildButNotLiveOnes) {
  DeadStep("dead1");
  // A dead build's temp dir, with a mounted view inside it.
  std::string build = state_ + "/tmp/build-dead";
  ASSERT_TRUE(image::MakeDirs(build + "/view-1", 0700).ok());
  ASSERT_EQ(::mount("tmpfs", (build + "/view-1").c_str(), "tmpfs", 0, nullptr), 0);
  // A live step and a live build (their owner locks held by "another process").
  auto live_step = base::OwnerLock::Create(state_ + "/secrets/live1.lock");
  ASSERT_TRUE(live_step.ok()) << live_step.status().ToString();
  ASSERT_TRUE(image::MakeDirs(state_ + "/secrets/live1", 0700).ok());
  ASSERT_TRUE(image::MakeDirs(state_ + "/scratch/live1", 0700).ok());
  auto live_build = base::MakeOwnedTempDir(state_ + "/tmp", "build-");
  ASSERT_TRUE(live_build.ok());

  RecoveryReport report;
  Status st = RecoverState(state_, "runc", &report);
  ASSERT_TRUE(st.ok()) << st.ToString();

  std::string bundle = state_ + "/secrets/dead1";
  EXPECT_EQ(report.mounts,
            (std::vector<std::string>{bundle + "/secret0", bundle, build + "/view-1"}));
  EXPECT_EQ(report.dirs, (std::vector<std::string>{bundle, state_ + "/scratch/dead1", build}));
  EXPECT_TRUE(report.containers.empty());
  auto left = MountsUnder(state_);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  for (const char* gone :
       {"/secrets/dead1", "/secrets/dead1.lock", "/scratch/dead1", "/tmp/build-dead"}) {
    EXPECT_FALSE(Exists(state_ + gone)) << gone;
  }
  for (const std::string& kept : {state_ + "/secrets/live1", state_ + "/secrets/live1.lock",
                                  state_ + "/scratch/live1", live_build->path}) {
    EXPECT_TRUE(Exists(kept)) << kept;
  }
}

TEST_F(StateRecoveryTest, AStateDirReachedThroughASymlinkIsRecovered) {
  ASSERT_TRUE(image::MakeDirs(state_ + "/real", 0700).ok());
  ASSERT_EQ(::symlink((state_ + "/real").c_str(), (state_ + "/link").c_str()), 0);
  std::string saved = state_;
  state_ = state_ + "/link";
  DeadStep("dead2");
  state_ = saved;
  RecoveryReport report;
  Status st = RecoverState(state_ + "/link", "runc", &report);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(report.mounts.size(), 2u);
  auto left = MountsUnder(state_);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(StateRecoveryTest, MountsUnderIsDeepestFirstAndDecodesEscapes) {
  std::string a = state_ + "/a b";
  ASSERT_TRUE(image::MakeDirs(a, 0700).ok());
  ASSERT_EQ(::mount("tmpfs", a.c_str(), "tmpfs", 0, nullptr), 0);
  ASSERT_TRUE(image::MakeDirs(a + "/c", 0700).ok());
  ASSERT_EQ(::mount("tmpfs", (a + "/c").c_str(), "tmpfs", 0, nullptr), 0);
  auto got = MountsUnder(state_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].path, a + "/c");
  EXPECT_EQ((*got)[1].path, a);
  EXPECT_EQ((*got)[1].fstype, "tmpfs");
  // A sibling that only shares a prefix is not under the directory.
  auto none = MountsUnder(state_ + "/a");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace latchkey::build
