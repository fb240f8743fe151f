#include "registry/www_authenticate.h"

#include <gtest/gtest.h>

namespace latchkey::registry {
namespace {

TEST(WwwAuthenticate, BearerWithRealmServiceScope) {
  auto r = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull")");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].scheme, "bearer");
  EXPECT_EQ((*r)[0].Param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*r)[0].Param("service"), "registry.docker.io");
  EXPECT_EQ((*r)[0].Param("scope"), "repository:library/debian:pull");
}

TEST(WwwAuthenticate, BasicAndCaseAndSpaces) {
  auto r = ParseWwwAuthenticate(R"(BASIC  Realm = "basic-realm" )");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].scheme, "basic");
  EXPECT_EQ((*r)[0].Param("realm"), "basic-realm");
}

TEST(WwwAuthenticate, SeveralChallengesAndEscapes) {
  auto r = ParseWwwAuthenticate(
      R"(Basic realm="a \"quoted\" realm", Bearer realm="https://t/x",scope=token68ish,error="invalid_token")");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].Param("realm"), "a \"quoted\" realm");
  EXPECT_EQ((*r)[1].scheme, "bearer");
  EXPECT_EQ((*r)[1].Param("scope"), "token68ish");
  EXPECT_EQ((*r)[1].Param("error"), "invalid_token");
}

TEST(WwwAuthenticate, Malformed) {
  auto r = ParseWwwAuthenticate(R"(Bearer realm="https://unterminated)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "malformed WWW-Authenticate header: unterminated quoted string");
  r = ParseWwwAuthenticate("  ");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "malformed WWW-Authenticate header: no challenge");
  r = ParseWwwAuthenticate("Bearer realm=\"x\", =oops");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "malformed WWW-Authenticate header: unexpected character '=' at byte 18");
}

}  // namespace
}  // namespace latchkey::registry
