#include "builder/frontend/suggest.h"

#include <gtest/gtest.h>

namespace latchkey::frontend {
namespace {

TEST(Suggest, ReturnsClosestBelowThree) {
  std::vector<std::string> types = {"bind", "cache", "tmpfs", "secret", "ssh"};
  EXPECT_EQ(Suggest("tmp", types), "tmpfs");
  EXPECT_EQ(Suggest("secrt", types), "secret");
  EXPECT_EQ(Suggest("bnd", types), "bind");
  EXPECT_EQ(Suggest("volume", types), "");
}

TEST(Suggest, DistanceThreeIsTooFar) {
  EXPECT_EQ(Suggest("abcxyz", {"abc"}), "");
  EXPECT_EQ(Suggest("abcxy", {"abc"}), "abc");
}

TEST(Suggest, ExactMatchGivesNoSuggestion) { EXPECT_EQ(Suggest("mount", {"mont", "mount"}), ""); }

TEST(Suggest, PrefersSmallerDistanceThenEarlierCandidate) {
  EXPECT_EQ(Suggest("mont", {"monte", "mount"}), "monte");   // both 1: the first wins
  EXPECT_EQ(Suggest("mounx", {"mxxnt", "mount"}), "mount");  // 1 beats 2
}

TEST(Suggest, CaseSensitiveByDefault) {
  EXPECT_EQ(Suggest("TYPE", {"type"}), "");        // 4 substitutions
  EXPECT_EQ(Suggest("Typ", {"type"}), "type");     // 2 edits; the candidate keeps its case
  EXPECT_EQ(Suggest("SSH", {"ssh", "bind"}), "");  // 3 edits
}

TEST(Suggest, CaseInsensitiveMatchesCaseOfWord) {
  EXPECT_EQ(Suggest("TYP", {"type"}, false), "TYPE");
  EXPECT_EQ(Suggest("typ", {"Type"}, false), "type");
  EXPECT_EQ(Suggest("Typ", {"TYPE"}, false), "type");
  EXPECT_EQ(Suggest("TYPE", {"type"}, false), "");  // exact ignoring case
}

TEST(WithSuggestion, AppendsDidYouMean) {
  EXPECT_EQ(WithSuggestion("unsupported mount type \"tmp\"", "tmp", {"tmpfs"}),
            "unsupported mount type \"tmp\" (did you mean tmpfs?)");
  EXPECT_EQ(WithSuggestion("unknown flag: --xyz", "xyz", {"mount"}), "unknown flag: --xyz");
}

}  // namespace
}  // namespace latchkey::frontend
