#include "base/unix_address.h"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::base {
namespace {

TEST(UnixAddress, HoldsThePathNulTerminated) {
  auto addr = UnixAddress("/run/a.sock");
  ASSERT_TRUE(addr.has_value());
  EXPECT_EQ(addr->sun_family, AF_UNIX);
  EXPECT_STREQ(addr->sun_path, "/run/a.sock");
}

TEST(UnixAddress, TheLongestPathFitsOneMoreDoesNot) {
  EXPECT_EQ(kMaxUnixPathBytes, 107u);
  std::string longest(kMaxUnixPathBytes, 'a');
  auto addr = UnixAddress(longest);
  ASSERT_TRUE(addr.has_value());
  EXPECT_EQ(std::string(addr->sun_path), longest);
  EXPECT_FALSE(UnixAddress(longest + "a").has_value());
}

}  // namespace
}  // namespace latchkey::base
