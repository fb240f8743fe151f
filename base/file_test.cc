#include "base/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lk-base-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& rel) const { return dir_ + "/" + rel; }
  std::string dir_;
};

TEST_F(FileTest, WriteThenReadRoundTrips) {
  std::string data(200000, 'x');
  data[12345] = '\0';
  ASSERT_TRUE(WriteFileAtomic(P("f"), data, 0600).ok());
  auto got = ReadFile(P("f"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  struct stat st;
  ASSERT_EQ(::stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(FileTest, WriteReplacesAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(WriteFileAtomic(P("f"), "old").ok());
  ASSERT_TRUE(WriteFileAtomic(P("f"), "new").ok());
  EXPECT_EQ(*ReadFile(P("f")), "new");
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

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

TEST_F(FileTest, WriteIntoMissingDirectoryNamesTheTemporaryFile) {
  Status s = WriteFileAtomic(P("no/f"), "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message().rfind("create " + P("no/f") + ".tmp-", 0), 0u) << s.message();
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
