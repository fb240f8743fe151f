#include "base/byte_size.h"

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

TEST(ByteSize, ParsesGoUnitsSpellings) {
  EXPECT_EQ(*ParseRamBytes("100"), 100);
  EXPECT_EQ(*ParseRamBytes("10GB"), 10LL << 30);
  EXPECT_EQ(*ParseRamBytes("10GiB"), 10LL << 30);
  EXPECT_EQ(*ParseRamBytes("10g"), 10LL << 30);
  EXPECT_EQ(*ParseRamBytes("512 mb"), 512LL << 20);
  EXPECT_EQ(*ParseRamBytes("1.5k"), 1536);
  EXPECT_EQ(*ParseRamBytes("7b"), 7);
  EXPECT_EQ(*ParseRamBytes("0"), 0);
}

TEST(ByteSize, RejectsWithGoUnitsText) {
  for (const char* bad : {"10XB", "", "GB", "-1", "1..2", "1e3", "10 GB ", "99999999999P"}) {
    auto r = ParseRamBytes(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), std::string("invalid size: '") + bad + "'");
  }
}

}  // namespace
}  // namespace latchkey::base
