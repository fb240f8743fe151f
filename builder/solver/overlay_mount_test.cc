#include "builder/solver/overlay_mount.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "builder/image/fs_util.h"

namespace latchkey::build {
namespace {

TEST(OverlayOptions, DisablesFeaturesThatBreakPlainDiffs) {
  EXPECT_EQ(OverlayOptions({"/a", "/b"}, "", ""),
            "lowerdir=/a:/b,redirect_dir=off,metacopy=off,index=off");
  EXPECT_EQ(OverlayOptions({"/a"}, "/u", "/w"),
            "lowerdir=/a,upperdir=/u,workdir=/w,redirect_dir=off,metacopy=off,index=off");
}

class OverlayMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = image::MakeTempDir("/tmp", "lk-ovl-test-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
    for (const char* s : {"/lower", "/upper", "/work", "/merged", "/empty", "/view"}) {
      ASSERT_TRUE(image::MakeDirs(dir_ + s).ok());
    }
    std::ofstream(dir_ + "/lower/base.txt") << "base";
  }
  void TearDown() override {
    ::umount2((dir_ + "/merged").c_str(), MNT_DETACH);
    ::umount2((dir_ + "/view").c_str(), MNT_DETACH);
    (void)image::RemoveAll(dir_);
  }
  std::string dir_;
};

TEST_F(OverlayMountTest, WritesGoToUpperAndUnmountOnDestruction) {
  {
    auto m = OverlayMount::ReadWrite({dir_ + "/lower"}, dir_ + "/upper", dir_ + "/work",
                                     dir_ + "/merged");
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(access((dir_ + "/merged/base.txt").c_str(), F_OK), 0);
    std::ofstream(dir_ + "/merged/new.txt") << "new";
  }
  EXPECT_EQ(access((dir_ + "/upper/new.txt").c_str(), F_OK), 0);
  EXPECT_NE(access((dir_ + "/lower/new.txt").c_str(), F_OK), 0);
  EXPECT_NE(access((dir_ + "/merged/base.txt").c_str(), F_OK), 0);  // unmounted
}

TEST_F(OverlayMountTest, ReadOnlyViewOfOneLayerIsPaddedAndRefusesWrites) {
  auto m = OverlayMount::ReadOnly({dir_ + "/lower"}, dir_ + "/empty", dir_ + "/view");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(access((dir_ + "/view/base.txt").c_str(), R_OK), 0);
  EXPECT_NE(::mkdir((dir_ + "/view/x").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_TRUE(m->Unmount().ok());
  ASSERT_TRUE(m->Unmount().ok());  // idempotent
}

TEST_F(OverlayMountTest, TooManyLayersIsAClearError) {
  std::vector<std::string> lowers(400, dir_ + "/lower");
  auto m = OverlayMount::ReadOnly(lowers, dir_ + "/empty", dir_ + "/view");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("overlay of 400 layers at " + dir_ +
                                      "/view: the mount options take "),
            std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace latchkey::build
