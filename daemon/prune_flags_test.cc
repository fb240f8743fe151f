#include "daemon/prune_flags.h"

#include <gtest/gtest.h>

#include "base/byte_size.h"

namespace latchkey::daemon {
namespace {

TEST(PruneFlags, ParsesBuildxSpellings) {
  auto p = PruneFlagsToPolicy(true, {"until=24h", "until=1h30m"}, "10GB");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->all);
  EXPECT_TRUE(p->cache);
  EXPECT_EQ(p->unused_for, 5400);  // the last until wins
  EXPECT_EQ(p->keep_storage, *base::ParseRamBytes("10GB"));
  auto none = PruneFlagsToPolicy(false, {}, "");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->all);
  EXPECT_FALSE(none->unused_for.has_value());
  EXPECT_FALSE(none->keep_storage.has_value());
}

TEST(PruneFlags, BadValuesGetBuildxTexts) {
  struct Case {
    std::vector<std::string> filters;
    std::string keep_storage;
    std::string message;
  };
  const Case cases[] = {
      {{"foo=1"}, "", "invalid filter 'foo'"},
      {{"until"}, "", "bad format of filter (expected name=value)"},
      {{"until=abc"},
       "",
       "\"until\" filter expects a duration (e.g., '24h'): time: invalid duration \"abc\""},
      {{"until="},
       "",
       "\"until\" filter expects a duration (e.g., '24h'): time: invalid duration \"\""},
      {{}, "10XB", "invalid argument \"10XB\" for \"--keep-storage\" flag: invalid size: '10XB'"},
  };
  for (const Case& c : cases) {
    auto p = PruneFlagsToPolicy(false, c.filters, c.keep_storage);
    ASSERT_FALSE(p.ok()) << c.message;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(p.status().message(), c.message);
  }
}

}  // namespace
}  // namespace latchkey::daemon
