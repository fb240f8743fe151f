#include "base/owner_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"

namespace latchkey::base {
namespace {

class OwnerLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "lk-owner-lock-test-");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    dir_ = *d;
  }
  void TearDown() override { (void)RemoveAll(dir_); }
  bool Exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
  }
  std::string dir_;
};

TEST_F(OwnerLockTest, ALiveOwnersLockCannotBeClaimed) {
  std::string path = dir_ + "/x.lock";
  auto owner = OwnerLock::Create(path);
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  EXPECT_TRUE(Exists(path));
  // flock conflicts between open file descriptions, so this process stands in for another.
  auto claim = OwnerLock::Claim(path);
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  EXPECT_FALSE(claim->has_value());
  owner->Release();
  EXPECT_FALSE(Exists(path));
}

TEST_F(OwnerLockTest, CreateRefusesAnExistingLock) {
  std::string path = dir_ + "/x.lock";
  auto owner = OwnerLock::Create(path);
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(OwnerLock::Create(path).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(OwnerLockTest, ADeadOwnersLockIsClaimedAndReleased) {
  // What a killed owner leaves: the file, with nobody holding its flock.
  std::string path = dir_ + "/dead.lock";
  ::close(::open(path.c_str(), O_CREAT | O_WRONLY, 0600));
  auto claim = OwnerLock::Claim(path);
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  ASSERT_TRUE(claim->has_value());
  // Held now: a second claimant (another cleaner) backs off.
  auto second = OwnerLock::Claim(path);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  (*claim)->Release();
  EXPECT_FALSE(Exists(path));
}

TEST_F(OwnerLockTest, AMissingLockIsCreatedLockedByTheClaimant) {
  std::string path = dir_ + "/missing.lock";
  auto claim = OwnerLock::Claim(path);
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  ASSERT_TRUE(claim->has_value());
  EXPECT_TRUE(Exists(path));
  auto second = OwnerLock::Claim(path);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

TEST_F(OwnerLockTest, OwnedTempDirHasItsLockFirst) {
  auto owned = MakeOwnedTempDir(dir_, "build-");
  ASSERT_TRUE(owned.ok()) << owned.status().ToString();
  EXPECT_EQ(owned->path.rfind(dir_ + "/build-", 0), 0u) << owned->path;
  struct stat st;
  ASSERT_EQ(::stat(owned->path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto claim = OwnerLock::Claim(owned->path + ".lock");
  ASSERT_TRUE(claim.ok());
  EXPECT_FALSE(claim->has_value());
}

}  // namespace
}  // namespace latchkey::base
