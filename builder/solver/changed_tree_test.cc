#include "builder/solver/changed_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "builder/image/test_util.h"

namespace latchkey::build {
namespace {

using image::testing::ScratchDir;

void Write(const std::string& path, const std::string& data) { std::ofstream(path) << data; }

// A `since` later than every timestamp already in `dir`: waits (without a deadline) until the
// coarse clock has moved past the newest ctime there.
struct timespec After(const std::string& dir) {
  struct stat st;
  struct timespec newest {};
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    ::lstat(e.path().c_str(), &st);
    if (st.st_ctim.tv_sec > newest.tv_sec ||
        (st.st_ctim.tv_sec == newest.tv_sec && st.st_ctim.tv_nsec > newest.tv_nsec)) {
      newest = st.st_ctim;
    }
  }
  ::lstat(dir.c_str(), &st);
  for (;;) {
    struct timespec now = ChangedTreeClock();
    if (now.tv_sec > newest.tv_sec ||
        (now.tv_sec == newest.tv_sec && now.tv_nsec > newest.tv_nsec)) {
      return now;
    }
    ::usleep(1000);
  }
}

TEST(ChangedTree, VisitsOnlyWhatChangedDirectoriesAfterTheirContents) {
  ScratchDir d;
  std::filesystem::create_directories(d / "old/deep");
  Write(d / "old/deep/keep", "old");
  Write(d / "old/rewrite", "old");
  struct timespec since = After(d.path());
  Write(d / "old/rewrite", "new");  // rewritten in place: its directory does not change
  std::filesystem::create_directories(d / "new/sub");
  Write(d / "new/sub/f", "x");
  ASSERT_EQ(::symlink("/target", (d / "new/link").c_str()), 0);
  std::vector<std::string> seen;
  Status st = WalkChangedTree(
      d.path(), since, [](std::string_view n) { return std::string(n); },
      [&](int, const char*, const struct stat&, const std::string& path) {
        seen.push_back(path);
        return Status::OK();
      });
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"new", "new/link", "new/sub", "new/sub/f", "old/rewrite"}));
  EXPECT_TRUE(WalkChangedTree(d / "missing", since, {}, {}).ok());
}

TEST(ChangedTree, RemoveDeletesWhatChangedAndKeepsTheRest) {
  ScratchDir d;
  std::filesystem::create_directories(d / "old");
  Write(d / "old/keep", "old");
  struct timespec since = After(d.path());
  Write(d / "old/leak", "secret");
  std::filesystem::create_directories(d / "new/sub");
  Write(d / "new/sub/f", "x");
  auto removed = RemoveChangedTree(d.path(), since);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 4u);  // old/leak, new/sub/f, new/sub, new
  EXPECT_TRUE(std::filesystem::exists(d / "old/keep"));
  EXPECT_FALSE(std::filesystem::exists(d / "old/leak"));
  EXPECT_FALSE(std::filesystem::exists(d / "new"));
}

}  // namespace
}  // namespace latchkey::build
