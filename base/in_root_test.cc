// Attacks on the in-root layer: every way a hostile tree (a layer or ADD tar, an image's root
// filesystem) could try to make a lookup leave the root.
#include "base/in_root.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

namespace fs = std::filesystem;

// <tmp>/outside holds a host file the root must never reach; <tmp>/root is the root.
class InRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lk-in-root-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = tmpl;
    root_ = top_ + "/root";
    fs::create_directories(root_ + "/etc");
    fs::create_directories(top_ + "/outside");
    Write(top_ + "/outside/secret", "host secret");
    Write(root_ + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    root_fd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.valid());
  }
  void TearDown() override { fs::remove_all(top_); }

  static void Write(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }
  void Symlink(const std::string& target, const std::string& rel) {
    ASSERT_EQ(::symlink(target.c_str(), (root_ + "/" + rel).c_str()), 0) << rel;
  }
  // The content of `path` opened in the root, or the error message.
  std::string Read(std::string_view path) {
    auto r = ReadFileInRoot(root_fd_.get(), path, 1 << 20);
    return r.ok() ? *r : "error: " + r.status().message();
  }

  std::string top_, root_;
  UniqueFd root_fd_;
};

TEST_F(InRootTest, DotDotStopsAtTheRoot) {
  EXPECT_EQ(Read("../outside/secret"), "error: open /outside/secret: No such file or directory");
  EXPECT_EQ(Read("/../../../etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(Read("etc/../../etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(InRootTest, AbsoluteSymlinkResolvesInsideTheRoot) {
  Symlink(top_ + "/outside", "abs");  // the host path of the secret's directory
  Symlink("/etc", "etc-link");
  EXPECT_EQ(Read("abs/secret"), "error: open /abs/secret: No such file or directory");
  EXPECT_EQ(Read("etc-link/passwd"), "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(InRootTest, RelativeSymlinkCannotClimbOut) {
  fs::create_directories(root_ + "/a/b");
  Symlink("../../../../../../outside", "a/b/up");
  EXPECT_EQ(Read("a/b/up/secret"), "error: open /a/b/up/secret: No such file or directory");
  // What it does reach is the root's own /outside.
  fs::create_directories(root_ + "/outside");
  Write(root_ + "/outside/secret", "in root");
  EXPECT_EQ(Read("a/b/up/secret"), "in root");
}

TEST_F(InRootTest, SymlinkLoopIsAnError) {
  Symlink("l2", "l1");
  Symlink("l1", "l2");
  auto r = OpenInRoot(root_fd_.get(), "/l1", O_RDONLY);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "open /l1: Too many levels of symbolic links");
}

TEST_F(InRootTest, MagicLinksAreRefused) {
  // With the host's "/" as the root, /proc is real: its magic links must not be followed.
  UniqueFd host_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(host_root.valid());
  if (!fs::exists("/proc/self/root")) GTEST_SKIP() << "no /proc";
  auto r = OpenInRoot(host_root.get(), "/proc/self/root/etc", O_PATH);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "open /proc/self/root/etc: Too many levels of symbolic links");
  std::string fd_link = "/proc/self/fd/" + std::to_string(root_fd_.get()) + "/etc";
  auto f = OpenInRoot(host_root.get(), fd_link, O_PATH);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "open " + fd_link + ": Too many levels of symbolic links");
}

TEST_F(InRootTest, SymlinkToProcInsideTheRootStaysInside) {
  Symlink("/proc/self/root", "escape");
  EXPECT_EQ(Read("escape/etc/passwd"), "error: open /escape/etc/passwd: No such file or directory");
}

TEST_F(InRootTest, ErrorsNameTheCallersDisplayText) {
  auto r = OpenInRoot(root_fd_.get(), "nope", O_RDONLY, 0, "layer entry \"nope\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "open layer entry \"nope\": No such file or directory");
}

TEST_F(InRootTest, EmptyDotAndSlashOpenTheRoot) {
  for (const char* p : {"", ".", "/", "/.."}) {
    auto r = OpenInRoot(root_fd_.get(), p, O_PATH | O_DIRECTORY);
    ASSERT_TRUE(r.ok()) << p;
    EXPECT_EQ(*FdPath(r->get()), *FdPath(root_fd_.get())) << p;
  }
}

TEST_F(InRootTest, BeneathNoSymlinksRefusesEverySymlink) {
  fs::create_directories(root_ + "/d");
  Write(root_ + "/d/x", "x");
  Symlink("d", "link");
  EXPECT_TRUE(OpenBeneathNoSymlinks(root_fd_.get(), "/d/x", O_RDONLY).ok());
  auto r = OpenBeneathNoSymlinks(root_fd_.get(), "/link/x", O_RDONLY);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "open /link/x: Too many levels of symbolic links");
}

TEST_F(InRootTest, MakeDirsFollowsSymlinksInsideTheRoot) {
  Symlink("/etc", "run");
  ASSERT_TRUE(MakeDirsInRoot(root_fd_.get(), "/run/secrets", 0700, ::getuid(), ::getgid()).ok());
  EXPECT_TRUE(fs::is_directory(root_ + "/etc/secrets"));
  EXPECT_EQ(fs::status(root_ + "/etc/secrets").permissions(), fs::perms::owner_all);
}

TEST_F(InRootTest, MakeDirsNeverTouchesADanglingSymlinksHostTarget) {
  // /work -> <host>/outside: the target does not exist in the root, it does on the host.
  ::chmod((top_ + "/outside").c_str(), 0700);
  Symlink(top_ + "/outside", "work");
  Status s = MakeDirsInRoot(root_fd_.get(), "/work", 0777, ::getuid(), ::getgid());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "mkdir /work: File exists");
  struct stat st;
  ASSERT_EQ(::stat((top_ + "/outside").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << "the host directory's mode was changed";
  EXPECT_FALSE(fs::exists(root_ + top_ + "/outside"));
}

TEST_F(InRootTest, OpenOrMakeDirCreatesInsideTheRoot) {
  Symlink("/", "slash");
  std::vector<std::string> parts = RootedComponents("slash/x/y/leaf");
  auto dir = OpenOrMakeDirInRoot(root_fd_.get(), parts, parts.size() - 1, "leaf");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_TRUE(fs::is_directory(root_ + "/x/y"));
  EXPECT_EQ(*FdPath(dir->get()), root_ + "/x/y");
}

TEST_F(InRootTest, ResolveInRootMapsSymlinksToContainerPaths) {
  std::string host = *FdPath(root_fd_.get());
  Symlink("/etc", "run");
  EXPECT_EQ(*ResolveInRoot(root_fd_.get(), host, "/run/secrets/x"), "/etc/secrets/x");
  Symlink("../../..", "up");
  EXPECT_EQ(*ResolveInRoot(root_fd_.get(), host, "/up/etc/passwd"), "/etc/passwd");
  EXPECT_TRUE(ExistsInRoot(root_fd_.get(), "/up/etc/passwd"));
  Symlink("/missing", "dangling");
  EXPECT_FALSE(ExistsInRoot(root_fd_.get(), "/dangling"));
}

TEST_F(InRootTest, ReadFileInRootLimitsAndRefusesNonRegularFiles) {
  Write(root_ + "/big", std::string(100, 'x'));
  auto r = ReadFileInRoot(root_fd_.get(), "/big", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/big is larger than 10 bytes");
  ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0600), 0);
  EXPECT_EQ(Read("/fifo"), "error: /fifo is not a regular file");
}

TEST_F(InRootTest, RemoveAtDoesNotFollowSymlinks) {
  fs::create_directories(root_ + "/tree/sub");
  ASSERT_EQ(::symlink((top_ + "/outside").c_str(), (root_ + "/tree/sub/out").c_str()), 0);
  ASSERT_TRUE(RemoveAt(root_fd_.get(), "tree", "/tree").ok());
  EXPECT_FALSE(fs::exists(root_ + "/tree"));
  EXPECT_TRUE(fs::exists(top_ + "/outside/secret"));
  EXPECT_TRUE(RemoveAt(root_fd_.get(), "tree", "/tree").ok());  // missing is fine
}

TEST(JoinComponents, JoinsAPrefix) {
  std::vector<std::string> parts = {"a", "b", "c"};
  EXPECT_EQ(JoinComponents(parts, 0), "");
  EXPECT_EQ(JoinComponents(parts, 2), "a/b");
  EXPECT_EQ(JoinComponents(parts, 9), "a/b/c");
}

}  // namespace
}  // namespace latchkey::base
