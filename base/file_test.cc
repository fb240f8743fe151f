#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/testutil.h"

namespace latchkey::base {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  std::string P(const std::string& rel) const { return dir_ + "/" + rel; }
  testing::TempDir tmp_{"lk-base-file-"};
  const std::string dir_ = tmp_.path();
};

TEST_F(FileTest, ReadMissingFileIsNotFound) {
  auto r = ReadFile(P("missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "open " + P("missing") + ": No such file or directory");
}

TEST_F(FileTest, ReadWithAVerbWordsEveryFailureWithIt) {
  EXPECT_EQ(ReadFile(P("missing"), "reading").status().message(),
            "reading " + P("missing") + ": No such file or directory");
  EXPECT_EQ(ReadFile(dir_, "reading").status().message(), "reading " + dir_ + ": Is a directory");
}

TEST_F(FileTest, ReadAllStopsPastItsLimit) {
  std::ofstream(P("f")) << "0123456789";
  int fd = ::open(P("f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto all = ReadAll(fd, "f");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "0123456789");
  ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  auto cut = ReadAll(fd, "the file", 9);
  EXPECT_EQ(cut.status().ToString(), "RESOURCE_EXHAUSTED: the file is larger than 9 bytes");
  ::close(fd);
  EXPECT_EQ(ReadAll(fd, "the file", 9, "reading").status().message(),
            "reading the file: Bad file descriptor");
}

TEST_F(FileTest, MakeDirsCreatesEveryComponent) {
  ASSERT_TRUE(MakeDirs(P("a/b/c"), 0700).ok());
  EXPECT_TRUE(fs::is_directory(P("a/b/c")));
  EXPECT_TRUE(MakeDirs(P("a/b/c")).ok());  // existing is fine
}

TEST_F(FileTest, MakeDirsOverAFileFails) {
  std::ofstream(P("file")) << "x";
  Status s = MakeDirs(P("file/sub"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "mkdir " + P("file") + ": Not a directory");
  EXPECT_EQ(MakeDirs("").message(), "mkdir: empty path");
}

TEST_F(FileTest, RemoveAllDoesNotFollowSymlinks) {
  ASSERT_TRUE(MakeDirs(P("keep")).ok());
  std::ofstream(P("keep/precious")) << "x";
  ASSERT_TRUE(MakeDirs(P("gone/sub")).ok());
  fs::create_directory_symlink(P("keep"), P("gone/link"));
  ASSERT_TRUE(RemoveAll(P("gone")).ok());
  EXPECT_FALSE(fs::exists(P("gone")));
  EXPECT_TRUE(fs::exists(P("keep/precious")));
  EXPECT_TRUE(RemoveAll(P("never-existed")).ok());
}

TEST_F(FileTest, FsyncDirOfAMissingDirectoryFails) {
  EXPECT_TRUE(FsyncDir(dir_).ok());
  EXPECT_EQ(FsyncDir(P("nope")).message(), "open " + P("nope") + ": No such file or directory");
  EXPECT_EQ(FsyncDir(P("nope"), "opening directory", "syncing directory").message(),
            "opening directory " + P("nope") + ": No such file or directory");
}

TEST_F(FileTest, MakeTempDirIsFreshAndPrivate) {
  auto a = MakeTempDir(dir_, "t-");
  auto b = MakeTempDir(dir_, "t-");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  struct stat st;
  ASSERT_EQ(::stat(a->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(FileTest, WriteAllToAClosedDescriptorNamesThePath) {
  Status s = WriteAll(-1, "x", 1, "/the/path");
  EXPECT_EQ(s.message(), "write /the/path: Bad file descriptor");
}

}  // namespace
}  // namespace latchkey::base
