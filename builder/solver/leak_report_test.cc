#include "builder/solver/leak_report.h"

#include <gtest/gtest.h>

namespace latchkey::build {
namespace {

TEST(LeakReport, OneFindingKeepsTheSingleSentence) {
  EXPECT_EQ(
      FormatLeakError({{"x", "/x"}}, "layer 3 (step 3, Dockerfile:3)", "the layer was discarded"),
      "secret \"x\" leaked into layer 3 (step 3, Dockerfile:3) at /x; the layer was "
      "discarded (if this is intended, pass --allow-secret-leak x)");
  EXPECT_EQ(FormatLeakError({{"x", "the build output"}}, "", "nothing was exported"),
            "secret \"x\" leaked into the build output; nothing was exported (if this is "
            "intended, pass --allow-secret-leak x)");
}

TEST(LeakReport, ListsEveryFindingGroupedBySecret) {
  EXPECT_EQ(FormatLeakError({{"x", "/a"}, {"y", "/c"}, {"x", "/b"}, {"x", "/a"}},
                            "layer 2 (step 2, Dockerfile:2)", "the layer was discarded"),
            "secrets \"x\" and \"y\" leaked into layer 2 (step 2, Dockerfile:2): \"x\" at /a and "
            "/b; \"y\" at /c; the layer was discarded (if this is intended, pass "
            "--allow-secret-leak x --allow-secret-leak y)");
  EXPECT_EQ(FormatLeakError({{"x", "the image config (its history, labels or env)"},
                             {"y", "the build output"},
                             {"x", "the build output"},
                             {"z", "the build output"}},
                            "", "nothing was exported"),
            "secrets \"x\", \"y\" and \"z\" leaked: \"x\" into the image config (its history, "
            "labels or env) and the build output; \"y\" into the build output; \"z\" into the "
            "build output; nothing was exported (if this is intended, pass --allow-secret-leak x "
            "--allow-secret-leak y --allow-secret-leak z)");
}

TEST(LeakReport, CutsLongListsOfPlaces) {
  std::vector<LeakPlace> places;
  for (int i = 1; i <= 8; ++i) places.push_back({"x", "/f" + std::to_string(i)});
  EXPECT_EQ(FormatLeakError(places, "cache mount /cache (step 2, Dockerfile:2)",
                            "the written files were removed"),
            "secret \"x\" leaked into cache mount /cache (step 2, Dockerfile:2) at /f1, /f2, /f3, "
            "/f4, /f5 and 3 more; the written files were removed (if this is intended, pass "
            "--allow-secret-leak x)");
}

}  // namespace
}  // namespace latchkey::build
