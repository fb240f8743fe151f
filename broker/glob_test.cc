#include "broker/glob.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool match;
};

TEST(Glob, MatchesTable) {
  const GlobCase cases[] = {
      {"npmrc", "npmrc", true},
      {"npmrc", "npmrc2", false},
      {"", "", true},
      {"", "a", false},
      {"*", "", true},
      {"*", "anything", true},
      {"*", "a/b", false},
      {"ci-*", "ci-registry", true},
      {"ci-*", "cd-registry", false},
      {"*-token", "registry-token", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"?", "x", true},
      {"?", "", false},
      {"?", "/", false},
      {"a?c", "abc", true},
      {"[abc]", "b", true},
      {"[abc]", "d", false},
      {"[a-z]x", "qx", true},
      {"[a-z]x", "Qx", false},
      {"[!a-z]", "Q", true},
      {"[^a-z]", "q", false},
      {"[]]", "]", true},
      {"[!]]", "a", true},
      {"[a-]", "-", true},
      {"[/]", "/", false},
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"**", "a/b/c", true},
      {"**", "", true},
      {"/src/**", "/src/app/Dockerfile", true},
      {"/src/**", "/srcx/app", false},
      {"/src/*", "/src/app/Dockerfile", false},
      {"/src/*/Dockerfile", "/src/app/Dockerfile", true},
      {"**/Dockerfile", "Dockerfile", true},
      {"**/Dockerfile", "/a/b/Dockerfile", true},
      {"**/Dockerfile", "/a/b/Dockerfile.dev", false},
      {"/a/**/b", "/a/b", true},
      {"/a/**/b", "/a/x/y/b", true},
      {"/a/**/b", "/a/xb", false},
      {"/a/**b", "/a/x/yb", true},
      {"***", "a/b", true},
      {"team-?/**", "team-a/x/y", true},
  };
  for (const auto& c : cases) {
    auto g = Glob::Compile(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.status().message();
    EXPECT_EQ(g->Match(c.text), c.match)
        << "pattern \"" << c.pattern << "\" text \"" << c.text << "\"";
  }
}

TEST(Glob, KeepsPattern) {
  auto g = Glob::Compile("ci/*");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->pattern(), "ci/*");
}

TEST(Glob, RejectsUnterminatedClass) {
  auto g = Glob::Compile("ab[cd");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.status().message(), "invalid glob \"ab[cd\": unterminated '['");
}

TEST(Glob, RejectsTrailingBackslash) {
  auto g = Glob::Compile("ab\\");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "invalid glob \"ab\\\": trailing backslash");
}

TEST(Glob, RejectsReversedRange) {
  auto g = Glob::Compile("[z-a]");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "invalid glob \"[z-a]\": character range out of order");
}

TEST(Glob, LongTextWithManyStarsIsLinear) {
  // Many stars over a long non-matching text must not backtrack exponentially.
  auto g = Glob::Compile("*a*a*a*a*a*a*a*a*a*a*b");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->Match(std::string(5000, 'a')));
}

}  // namespace
}  // namespace latchkey
