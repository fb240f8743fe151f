#include "builder/executor/user_lookup.h"

#include <gtest/gtest.h>

namespace latchkey::executor {
namespace {

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n# comment\n\napp:x:100:101::/home/app:/bin/sh\n"
    "broken:x:notanumber:1::/:/bin/sh\n";
const std::string kGroup = "root:x:0:\napp:x:101:\nextra:x:102:app,other\nwheel:x:10:app\n";

ExecUser Resolve(std::string_view spec) {
  auto r = ResolveUser(spec, kPasswd, kGroup);
  EXPECT_TRUE(r.ok()) << spec << ": " << r.status().ToString();
  return r.ok() ? *r : ExecUser{};
}

TEST(UserLookup, DefaultIsRoot) { EXPECT_EQ(Resolve(""), (ExecUser{0, 0, {}})); }

TEST(UserLookup, NameGivesPrimaryAndSupplementaryGroups) {
  EXPECT_EQ(Resolve("app"), (ExecUser{100, 101, {102, 10}}));
}

TEST(UserLookup, NumericUidMatchesEntry) {
  EXPECT_EQ(Resolve("100"), (ExecUser{100, 101, {102, 10}}));
}

TEST(UserLookup, NumericUidWithoutEntryIsAllowed) {
  EXPECT_EQ(Resolve("4242"), (ExecUser{4242, 0, {}}));
}

TEST(UserLookup, ExplicitGroupByNameOrNumber) {
  EXPECT_EQ(Resolve("app:extra"), (ExecUser{100, 102, {}}));
  EXPECT_EQ(Resolve("app:55"), (ExecUser{100, 55, {}}));
  EXPECT_EQ(Resolve("7:8"), (ExecUser{7, 8, {}}));
}

TEST(UserLookup, UnknownUser) {
  auto r = ResolveUser("ghost", kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unable to find user ghost: no matching entries in passwd file");
}

TEST(UserLookup, UnknownGroup) {
  auto r = ResolveUser("app:nogroup", kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "unable to find group nogroup: no matching entries in group file");
}

TEST(UserLookup, NoPasswdFile) {
  EXPECT_TRUE(ResolveUser("", std::nullopt, std::nullopt).ok());
  auto r = ResolveUser("app", std::nullopt, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unable to find user app: no matching entries in passwd file");
  EXPECT_EQ(*ResolveUser("12", std::nullopt, std::nullopt), (ExecUser{12, 0, {}}));
}

}  // namespace
}  // namespace latchkey::executor
