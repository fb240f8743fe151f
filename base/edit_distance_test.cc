#include "base/edit_distance.h"

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

TEST(EditDistance, CountsEdits) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("tmp", "tmpfs"), 2u);
  EXPECT_EQ(EditDistance("typ", "type"), 1u);
  EXPECT_EQ(EditDistance("flaw", "lawn"), 2u);
  EXPECT_EQ(EditDistance("fsyncc", "fsync"), 1u);
}

TEST(EditDistance, IsSymmetric) {
  EXPECT_EQ(EditDistance("unlock_key", "unlock_key_file"), 5u);
  EXPECT_EQ(EditDistance("unlock_key_file", "unlock_key"), 5u);
}

TEST(EditDistance, CountsCodePointsNotBytes) {
  // "é" is two bytes but one edit.
  EXPECT_EQ(EditDistance("caf\xc3\xa9", "cafe"), 1u);
  EXPECT_EQ(EditDistance("\xea\xb0\x80", "\xea\xb0\x81"), 1u);
}

TEST(EditDistance, InvalidBytesAreDistinctUnits) {
  EXPECT_EQ(EditDistance("\xff", "\xfe"), 1u);
  EXPECT_EQ(EditDistance("\xff", "\xff"), 0u);
  // An invalid byte is not the replacement character it decodes to.
  EXPECT_EQ(EditDistance("\xff", "\xef\xbf\xbd"), 1u);
}

}  // namespace
}  // namespace latchkey::base
