#include "cli/table.h"

#include <gtest/gtest.h>

namespace latchkey::cli {
namespace {

TEST(FormatTable, ColumnsAreAsWideAsTheirWidestCellWithThreeSpaces) {
  EXPECT_EQ(FormatTable({{"REPOSITORY", "TAG", "SIZE"}, {"app", "latest-long", "1.2MB"}}),
            "REPOSITORY   TAG           SIZE\n"
            "app          latest-long   1.2MB\n");
}

TEST(FormatTable, ShorterRowsAndNoRows) {
  EXPECT_EQ(FormatTable({{"a", "bb"}, {"ccc"}}), "a     bb\nccc\n");
  EXPECT_EQ(FormatTable({}), "");
}

}  // namespace
}  // namespace latchkey::cli
