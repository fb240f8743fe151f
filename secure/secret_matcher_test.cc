#include "secure/secret_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace latchkey {
namespace {

SecretPattern Pattern(std::string_view bytes, const char* encoding = "raw", bool before = false,
                      bool after = false) {
  auto b = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  if (!b.ok()) std::abort();
  return SecretPattern{std::move(*b), encoding, before, after};
}

// A matcher over `patterns`, pattern i owned by owners[i] (or i), in both table modes.
std::vector<SecretMatcher> Matchers(const std::vector<SecretPattern>& patterns,
                                    std::vector<uint32_t> owners = {}) {
  std::vector<SecretMatcher::Input> inputs;
  for (size_t i = 0; i < patterns.size(); ++i) {
    inputs.push_back({&patterns[i], owners.empty() ? static_cast<uint32_t>(i) : owners[i]});
  }
  std::vector<SecretMatcher> out;
  for (size_t budget : {LeakMatcher::kDefaultDenseBudget, size_t{0}}) {
    auto m = SecretMatcher::Build(inputs, budget);
    if (!m.ok()) std::abort();
    EXPECT_EQ(m->automaton().dense(), budget != 0);
    out.push_back(std::move(*m));
  }
  return out;
}

TEST(SecretMatcher, OverlappingValuesLeaveNoFragment) {
  std::vector<SecretPattern> p;
  p.push_back(Pattern("secret-one"));
  p.push_back(Pattern("one-two"));
  for (const auto& m : Matchers(p)) {
    EXPECT_EQ(m.Mask("xsecret-one-twoy"), "x****y");
    EXPECT_EQ(m.Mask("secret-one one-two"), "**** ****");
    EXPECT_EQ(m.Mask("secret-on ne-two"), "secret-on ne-two");
  }
}

TEST(SecretMatcher, AValueThatIsAPrefixOrSuffixOfAnother) {
  std::vector<SecretPattern> p;
  p.push_back(Pattern("abc-secret"));
  p.push_back(Pattern("abc-secret-longer"));
  p.push_back(Pattern("er-tail"));
  for (const auto& m : Matchers(p)) {
    EXPECT_EQ(m.Mask("abc-secret-longer!"), "****!");
    EXPECT_EQ(m.Mask("abc-secret-long"), "****-long");
    EXPECT_EQ(m.Mask("abc-secret-longer-tail"), "****");
    EXPECT_EQ(m.Mask("[abc-secret][abc-secret]"), "[****][****]");
  }
}

TEST(SecretMatcher, Base64WideningCoversOnlyBase64NeighboursAndPadding) {
  std::vector<SecretPattern> p;
  p.push_back(Pattern("CORE", "base64", /*before=*/true, /*after=*/true));
  p.push_back(Pattern("PLAIN"));
  for (const auto& m : Matchers(p)) {
    EXPECT_EQ(m.Mask("xCOREy"), "****");
    EXPECT_EQ(m.Mask("a+CORE_b"), "a****b");  // '+' and '_' are base64 characters
    EXPECT_EQ(m.Mask(".CORE."), ".****.");    // '.' is not: it cannot hide bits of the value
    EXPECT_EQ(m.Mask("xCOREy== end"), "**** end");
    EXPECT_EQ(m.Mask("COREy==="), "****=");  // at most two '='
    EXPECT_EQ(m.Mask("CORE"), "****");
    // Raw patterns are never widened.
    EXPECT_EQ(m.Mask("xPLAINy=="), "x****y==");
  }
}

TEST(SecretMatcher, ContainsAndMetadata) {
  std::vector<SecretPattern> p;
  p.push_back(Pattern("alpha-secret"));
  p.push_back(Pattern("616c706861", "hex"));
  p.push_back(Pattern("bravo-secret", "part raw"));
  for (const auto& m : Matchers(p, {7, 7, 9})) {
    EXPECT_EQ(m.pattern_count(), 3u);
    EXPECT_EQ(m.owner(1), 7u);
    EXPECT_EQ(m.owner(2), 9u);
    EXPECT_STREQ(m.encoding(1), "hex");
    EXPECT_STREQ(m.encoding(2), "part raw");
    EXPECT_TRUE(m.Contains("x 616c706861 y"));
    EXPECT_TRUE(m.Contains("bravo-secret"));
    EXPECT_FALSE(m.Contains("alpha-secre bravo"));
    EXPECT_FALSE(m.Contains(""));
    EXPECT_EQ(m.Mask(""), "");
  }
}

TEST(SecretMatcher, StreamingFindsWhatMaskFinds) {
  // A caller feeding the automaton piece by piece (the leak scanner) sees every match Mask sees,
  // wherever the text is cut.
  std::vector<SecretPattern> p;
  p.push_back(Pattern("abc-secret"));
  p.push_back(Pattern("abc-secret-longer"));
  p.push_back(Pattern("secret-l"));
  const std::string text = "..abc-secret-longer..abc-secret..";
  for (const auto& m : Matchers(p)) {
    std::vector<std::pair<size_t, size_t>> whole;
    m.automaton().Feed(LeakMatcher::kStart,
                       {reinterpret_cast<const uint8_t*>(text.data()), text.size()},
                       [&](size_t pattern, size_t end) { whole.emplace_back(pattern, end); });
    ASSERT_EQ(whole.size(), 4u);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      std::vector<std::pair<size_t, size_t>> split;
      LeakMatcher::State s = LeakMatcher::kStart;
      s = m.automaton().Feed(s, {reinterpret_cast<const uint8_t*>(text.data()), cut},
                             [&](size_t pattern, size_t end) { split.emplace_back(pattern, end); });
      m.automaton().Feed(
          s, {reinterpret_cast<const uint8_t*>(text.data()) + cut, text.size() - cut},
          [&](size_t pattern, size_t end) { split.emplace_back(pattern, cut + end); });
      EXPECT_EQ(split, whole) << "cut at " << cut;
    }
  }
}

TEST(SecretMatcher, RejectsAnEmptyPattern) {
  std::vector<SecretPattern> p;
  p.push_back(Pattern("fine"));
  p.push_back(SecretPattern{SecretBuffer(), "raw"});
  std::vector<SecretMatcher::Input> inputs = {{&p[0], 0}, {&p[1], 0}};
  auto m = SecretMatcher::Build(inputs);
  EXPECT_EQ(m.status().ToString(), "INVALID_ARGUMENT: leak matcher: pattern 1 is empty");
}

}  // namespace
}  // namespace latchkey
