#include "base/split.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace latchkey::base {
namespace {

using Pieces = std::vector<std::string_view>;

TEST(Split, KeepsEmptyPiecesButNotATrailingOne) {
  EXPECT_EQ(Split("a//b/", '/'), (Pieces{"a", "", "b"}));
  EXPECT_EQ(Split("/a", '/'), (Pieces{"", "a"}));
  EXPECT_EQ(Split("one\ntwo", '\n'), (Pieces{"one", "two"}));
  EXPECT_EQ(Split("x", '\n'), (Pieces{"x"}));
  EXPECT_EQ(Split("\n", '\n'), (Pieces{""}));
  EXPECT_TRUE(Split("", '\n').empty());
}

}  // namespace
}  // namespace latchkey::base
