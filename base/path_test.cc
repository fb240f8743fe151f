#include "base/path.h"

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

using Parts = std::vector<std::string>;

// Cases from Go's path.TestClean, plus the ones the callers relied on.
TEST(CleanPath, MatchesGoPathClean) {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"", "."},
      {"abc", "abc"},
      {"abc/def", "abc/def"},
      {"a/b/c", "a/b/c"},
      {".", "."},
      {"..", ".."},
      {"../..", "../.."},
      {"../../abc", "../../abc"},
      {"/abc", "/abc"},
      {"/", "/"},
      {"abc/", "abc"},
      {"abc/def/", "abc/def"},
      {"/abc/", "/abc"},
      {"//abc", "/abc"},
      {"///abc", "/abc"},
      {"//abc//", "/abc"},
      {"abc//def//ghi", "abc/def/ghi"},
      {"abc/./def", "abc/def"},
      {"/./abc/def", "/abc/def"},
      {"abc/.", "abc"},
      {"abc/def/ghi/../jkl", "abc/def/jkl"},
      {"abc/def/../ghi/../jkl", "abc/jkl"},
      {"abc/def/..", "abc"},
      {"abc/def/../..", "."},
      {"/abc/def/../..", "/"},
      {"abc/def/../../..", ".."},
      {"/abc/def/../../..", "/"},
      {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
      {"abc/./../def", "def"},
      {"abc//./../def", "def"},
      {"abc/../../././../def", "../../def"},
      {"/a/./b/../c/", "/a/c"},
      {"/../..", "/"},
      {"a/../..", ".."},
  };
  for (const auto& c : cases) EXPECT_EQ(CleanPath(c.in), c.want) << c.in;
}

TEST(CleanPath, IsIdempotent) {
  for (const char* p : {"a//b/../c/", "/../x", "../../a", ""}) {
    EXPECT_EQ(CleanPath(CleanPath(p)), CleanPath(p)) << p;
  }
}

TEST(JoinPath, MatchesGoPathJoin) {
  EXPECT_EQ(JoinPath({"a", "b", "c"}), "a/b/c");
  EXPECT_EQ(JoinPath({"a", "", "c"}), "a/c");
  EXPECT_EQ(JoinPath({"", ""}), "");
  EXPECT_EQ(JoinPath({"/", "a", "../b"}), "/b");
  EXPECT_EQ(JoinPath({"a", "/b"}), "a/b");  // an absolute element does not reset the path
  EXPECT_EQ(JoinPath({"/", "work", "../../../etc"}), "/etc");
}

TEST(ResolvePath, AbsolutePathWins) {
  EXPECT_EQ(ResolvePath("/home/u", "f"), "/home/u/f");
  EXPECT_EQ(ResolvePath("/home/u", "../v/./f"), "/home/v/f");
  EXPECT_EQ(ResolvePath("/home/u", "/etc//x"), "/etc/x");
  EXPECT_EQ(ResolvePath("/", ".."), "/");
}

TEST(RootedPath, NeverClimbsAboveTheRoot) {
  EXPECT_EQ(RootedPath(""), "/");
  EXPECT_EQ(RootedPath("../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(RootedPath("/a/../../b/"), "/b");
  EXPECT_EQ(RootedPath("a/./b"), "/a/b");
}

TEST(RootedComponents, SplitsTheRootedPath) {
  EXPECT_EQ(RootedComponents(""), Parts{});
  EXPECT_EQ(RootedComponents("/"), Parts{});
  EXPECT_EQ(RootedComponents(".."), Parts{});
  EXPECT_EQ(RootedComponents("a/../b//c/"), (Parts{"b", "c"}));
  EXPECT_EQ(RootedComponents("../../etc/shadow"), (Parts{"etc", "shadow"}));
}

TEST(DirName, EverythingBeforeTheLastSlash) {
  EXPECT_EQ(DirName("a/b"), "a");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
  EXPECT_EQ(DirName("a/b/"), "a/b");
  EXPECT_EQ(DirName("/var/lib/latchkey/audit/audit.log"), "/var/lib/latchkey/audit");
}

TEST(BaseName, MatchesGoPathBase) {
  EXPECT_EQ(BaseName(""), ".");
  EXPECT_EQ(BaseName("/"), "/");
  EXPECT_EQ(BaseName("///"), "/");
  EXPECT_EQ(BaseName("a/b"), "b");
  EXPECT_EQ(BaseName("a/b/"), "b");
  EXPECT_EQ(BaseName("/run/secrets/x"), "x");
  EXPECT_EQ(BaseName("x"), "x");
}

}  // namespace
}  // namespace latchkey::base
