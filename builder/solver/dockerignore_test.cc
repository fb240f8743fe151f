#include "builder/solver/dockerignore.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "builder/solver/copy_pathmatch.h"

namespace latchkey::build {
namespace {

IgnoreMatcher MustParse(std::string_view text) {
  auto m = IgnoreMatcher::Parse(text);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : IgnoreMatcher();
}

struct Case {
  const char* pattern;
  const char* text;
  bool pass;
};

// moby/patternmatcher's TestMatches table (MatchesOrParentMatches with one pattern).
TEST(DockerignorePatterns, PatternmatcherTable) {
  const Case cases[] = {
      {"**", "file", true},
      {"**", "file/", true},
      {"**/", "file", true},
      {"**/", "file/", true},
      {"**", "/", true},
      {"**/", "/", true},
      {"**", "dir/file", true},
      {"**/", "dir/file", true},
      {"**", "dir/file/", true},
      {"**/", "dir/file/", true},
      {"**/**", "dir/file", true},
      {"**/**", "dir/file/", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/file/", true},
      {"dir/**", "dir/dir2/file", true},
      {"dir/**", "dir/dir2/file/", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/*", "dir/dir2/file/", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file/", true},
      {"**file", "file", true},
      {"**file", "dir/file", true},
      {"**/file", "dir/file", true},
      {"**file", "dir/dir/file", true},
      {"**/file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*txt", "dir/dir/file.txt", true},
      {"**/file*.txt", "dir/dir/file.txt", true},
      {"**/file*.txt*", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"**/**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/file.txt", true},
      {"a**/*.txt", "a/dir/file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc.def", "abcZdef", false},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"a\\\\", "a\\", true},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def", true},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a(b)c/def", "a(b)c/xyz", false},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
       "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      // Beyond the upstream table: classes, escapes and multi-byte characters.
      {"a?b", "a☺b", true},
      {"[a-c]*.txt", "b1.txt", true},
      {"[a-c]*.txt", "d1.txt", false},
      {"[\\]]x", "]x", true},
      {"\\*.txt", "*.txt", true},
      {"\\*.txt", "a.txt", false},
      {"**/[^.]*.py", "pkg/mod.py", true},
      {"**/[^.]*.py", "pkg/.hidden.py", false},
  };
  for (const auto& c : cases) {
    IgnoreMatcher m = MustParse(c.pattern);
    EXPECT_EQ(m.Excluded(c.text), c.pass) << "pattern=" << c.pattern << " text=" << c.text;
  }
}

TEST(DockerignorePatterns, DirectoryPatternExcludesEverythingBelow) {
  IgnoreMatcher m = MustParse("node_modules\nbuild/out\n");
  EXPECT_TRUE(m.Excluded("node_modules"));
  EXPECT_TRUE(m.Excluded("node_modules/a/b.js"));
  EXPECT_TRUE(m.Excluded("build/out/x"));
  EXPECT_FALSE(m.Excluded("build/other"));
  EXPECT_FALSE(m.Excluded("src/node_modules"));  // not anchored anywhere but the root
}

TEST(DockerignorePatterns, GoFilesAnywhere) {
  IgnoreMatcher m = MustParse("**/*.go\n");
  EXPECT_TRUE(m.Excluded("main.go"));
  EXPECT_TRUE(m.Excluded("cmd/x/main.go"));
  EXPECT_FALSE(m.Excluded("main.go.txt"));
  EXPECT_FALSE(m.Excluded("README.md"));
}

TEST(DockerignorePatterns, DocsStarStar) {
  IgnoreMatcher m = MustParse("docs/**\n");
  EXPECT_TRUE(m.Excluded("docs/a.md"));
  EXPECT_TRUE(m.Excluded("docs/x/y.md"));
  EXPECT_FALSE(m.Excluded("docs"));
  EXPECT_FALSE(m.Excluded("docsx/a.md"));
}

TEST(DockerignoreExceptions, ExceptionReincludesAFile) {
  IgnoreMatcher m = MustParse("*.md\n!important.md\n");
  EXPECT_TRUE(m.Excluded("README.md"));
  EXPECT_FALSE(m.Excluded("important.md"));
  EXPECT_FALSE(m.Excluded("main.c"));
}

TEST(DockerignoreExceptions, ExceptionInsideExcludedDirectory) {
  IgnoreMatcher m = MustParse("docs\n!docs/keep.md\n");
  EXPECT_TRUE(m.Excluded("docs"));
  EXPECT_TRUE(m.Excluded("docs/other.md"));
  EXPECT_FALSE(m.Excluded("docs/keep.md"));
  EXPECT_TRUE(m.MayIncludeUnder("docs"));
  EXPECT_FALSE(m.MayIncludeUnder("src"));
  EXPECT_FALSE(m.MayIncludeUnder("docs/sub"));
}

TEST(DockerignoreExceptions, LastMatchingPatternWins) {
  IgnoreMatcher m = MustParse("!keep.txt\n*.txt\n");
  EXPECT_TRUE(m.Excluded("keep.txt"));
  IgnoreMatcher n = MustParse("*.txt\n!keep.txt\n*.txt\n");
  EXPECT_TRUE(n.Excluded("keep.txt"));
  IgnoreMatcher o = MustParse("*\n!src\nsrc/*.tmp\n");
  EXPECT_FALSE(o.Excluded("src/a.c"));
  EXPECT_TRUE(o.Excluded("src/a.tmp"));
  EXPECT_TRUE(o.Excluded("Makefile"));
}

TEST(DockerignoreExceptions, MayIncludeUnderFollowsWildcardsAndStarStar) {
  IgnoreMatcher m = MustParse("*\n!*/keep\n");
  EXPECT_TRUE(m.MayIncludeUnder("a"));
  EXPECT_FALSE(m.MayIncludeUnder("a/b"));
  IgnoreMatcher n = MustParse("*\n!**/keep\n");
  EXPECT_TRUE(n.MayIncludeUnder("a/b/c"));
  IgnoreMatcher o = MustParse("*\n");
  EXPECT_FALSE(o.MayIncludeUnder("a"));
}

TEST(DockerignoreParse, CommentsBlankLinesTrimmingAndLeadingSlash) {
  IgnoreMatcher m = MustParse("\xEF\xBB\xBF# comment\n\n   \n  /secret.txt  \r\n./a/../b\n#x\n");
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(m.Excluded("secret.txt"));
  EXPECT_TRUE(m.Excluded("b"));
  EXPECT_FALSE(m.Excluded("a"));
  EXPECT_FALSE(m.Excluded("# comment"));
  EXPECT_FALSE(m.Excluded("#x"));
  // Only a '#' in the first column starts a comment.
  IgnoreMatcher n = MustParse("  #notacomment\n");
  EXPECT_TRUE(n.Excluded("#notacomment"));
}

TEST(DockerignoreParse, EmptyMatcherMatchesNothing) {
  IgnoreMatcher m;
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.Excluded("a"));
  EXPECT_FALSE(m.MayIncludeUnder("a"));
  EXPECT_TRUE(MustParse("# only comments\n\n").empty());
}

TEST(DockerignoreParse, LoneExclamationMarkIsAnError) {
  auto m = IgnoreMatcher::Parse("a\n# c\n!\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            ".dockerignore:3: invalid pattern \"!\": \"!\" must be followed by a pattern");
}

TEST(DockerignoreParse, BadClassIsAnError) {
  auto m = IgnoreMatcher::Parse("[a\n", "ctx/Dockerfile.dockerignore");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "ctx/Dockerfile.dockerignore:1: invalid pattern \"[a\": syntax error in pattern");
  auto n = IgnoreMatcher::Parse("ok\n  !x[]y  \n");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(),
            ".dockerignore:2: invalid pattern \"!x[]y\": syntax error in pattern");
}

class DockerignoreLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/lk-dockerignore-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel) << text;
  }
  std::string dir_;
};

TEST_F(DockerignoreLoad, PrefersThePerDockerfileIgnoreFile) {
  Write(".dockerignore", "a\n");
  Write("Dockerfile.dockerignore", "b\n");
  auto m = IgnoreMatcher::Load(dir_, dir_ + "/Dockerfile");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->Excluded("b"));
  EXPECT_FALSE(m->Excluded("a"));
}

TEST_F(DockerignoreLoad, FallsBackToTheContextIgnoreFile) {
  Write(".dockerignore", "a\n");
  auto m = IgnoreMatcher::Load(dir_, dir_ + "/Dockerfile");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Excluded("a"));
}

TEST_F(DockerignoreLoad, NoIgnoreFileGivesAnEmptyMatcher) {
  auto m = IgnoreMatcher::Load(dir_, dir_ + "/Dockerfile");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->empty());
}

TEST_F(DockerignoreLoad, ErrorsNameTheFile) {
  Write(".dockerignore", "ok\n!\n");
  auto m = IgnoreMatcher::Load(dir_, dir_ + "/Dockerfile");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), dir_ +
                                      "/.dockerignore:2: invalid pattern \"!\": \"!\" must be "
                                      "followed by a pattern");
  std::filesystem::remove(dir_ + "/.dockerignore");
  std::filesystem::create_directory(dir_ + "/.dockerignore");
  auto n = IgnoreMatcher::Load(dir_, dir_ + "/Dockerfile");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(), "read " + dir_ + "/.dockerignore: not a regular file");
}

// Go's filepath.Match, used for COPY wildcards.
TEST(CopyPathMatch, GoFilepathMatchTable) {
  struct M {
    const char* pattern;
    const char* s;
    bool match;
    bool err;
  };
  const M cases[] = {
      {"abc", "abc", true, false},
      {"*", "abc", true, false},
      {"*c", "abc", true, false},
      {"a*", "a", true, false},
      {"a*", "abc", true, false},
      {"a*", "ab/c", false, false},
      {"a*/b", "abc/b", true, false},
      {"a*/b", "a/c/b", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
      {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
      {"ab[c]", "abc", true, false},
      {"ab[b-d]", "abc", true, false},
      {"ab[e-g]", "abc", false, false},
      {"ab[^c]", "abc", false, false},
      {"ab[^b-d]", "abc", false, false},
      {"ab[^e-g]", "abc", true, false},
      {"a\\*b", "a*b", true, false},
      {"a\\*b", "ab", false, false},
      {"a?b", "a☺b", true, false},
      {"a[^a]b", "a☺b", true, false},
      {"a???b", "a☺b", false, false},
      {"a[^a][^a][^a]b", "a☺b", false, false},
      {"[a-ζ]*", "α", true, false},
      {"*[a-ζ]", "A", false, false},
      {"a?b", "a/b", false, false},
      {"a*b", "a/b", false, false},
      {"[\\]a]", "]", true, false},
      {"[\\-]", "-", true, false},
      {"[x\\-]", "x", true, false},
      {"[x\\-]", "-", true, false},
      {"[x\\-]", "z", false, false},
      {"[\\-x]", "x", true, false},
      {"[\\-x]", "-", true, false},
      {"[\\-x]", "a", false, false},
      {"[]a]", "]", false, true},
      {"[-]", "-", false, true},
      {"[x-]", "x", false, true},
      {"[x-]", "-", false, true},
      {"[x-]", "z", false, true},
      {"[-x]", "x", false, true},
      {"[-x]", "-", false, true},
      {"[-x]", "a", false, true},
      {"\\", "a", false, true},
      {"[a-b-c]", "a", false, true},
      {"[", "a", false, true},
      {"[^", "a", false, true},
      {"[^bc", "a", false, true},
      {"a[", "a", false, true},
      {"a[", "ab", false, true},
      {"a[", "x", false, true},
      {"a/b[", "x", false, true},
      {"*x", "xxx", true, false},
  };
  for (const auto& c : cases) {
    auto r = PathMatch(c.pattern, c.s);
    if (c.err) {
      ASSERT_FALSE(r.ok()) << c.pattern << " " << c.s;
      EXPECT_EQ(r.status().message(), "syntax error in pattern");
    } else {
      ASSERT_TRUE(r.ok()) << c.pattern << " " << c.s;
      EXPECT_EQ(*r, c.match) << c.pattern << " " << c.s;
    }
  }
}

TEST(CopyPathMatch, HasMetaLikeGo) {
  EXPECT_TRUE(HasMeta("a*"));
  EXPECT_TRUE(HasMeta("a\\b"));
  EXPECT_FALSE(HasMeta("a/b.c"));
}

}  // namespace
}  // namespace latchkey::build
