#include "secure/leak_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace latchkey {
namespace {

using Match = std::pair<size_t, size_t>;  // (pattern, absolute end offset)

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<std::span<const uint8_t>> Spans(const std::vector<std::string>& patterns) {
  std::vector<std::span<const uint8_t>> out;
  for (const auto& p : patterns) out.push_back(Bytes(p));
  return out;
}

// Every occurrence of every pattern, by brute force.
std::multiset<Match> Naive(const std::vector<std::string>& patterns, const std::string& text) {
  std::multiset<Match> out;
  for (size_t i = 0; i < patterns.size(); ++i) {
    for (size_t pos = text.find(patterns[i]); pos != std::string::npos;
         pos = text.find(patterns[i], pos + 1)) {
      out.insert({i, pos + patterns[i].size()});
    }
  }
  return out;
}

// Feeds `text` in pieces cut at `cuts` and collects the matches with absolute end offsets.
std::multiset<Match> Scan(const LeakMatcher& m, const std::string& text,
                          const std::vector<size_t>& cuts) {
  std::multiset<Match> out;
  LeakMatcher::State s = LeakMatcher::kStart;
  size_t begin = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(text.size());
  for (size_t end : ends) {
    s = m.Feed(s, Bytes(text).subspan(begin, end - begin), [&](size_t p, size_t e) {
      out.insert({p, begin + e});
    });
    begin = end;
  }
  return out;
}

TEST(LeakMatcher, FindsOverlappingAndNestedPatterns) {
  std::vector<std::string> patterns = {"he", "she", "his", "hers", "e"};
  for (size_t budget : {LeakMatcher::kDefaultDenseBudget, size_t{0}}) {
    auto m = LeakMatcher::Build(Spans(patterns), budget);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->dense(), budget != 0);
    std::string text = "ushers his shhe";
    EXPECT_EQ(Scan(*m, text, {}), Naive(patterns, text));
    EXPECT_EQ(Naive(patterns, text).size(), 7u);
  }
}

TEST(LeakMatcher, ReportsDuplicatePatternsEachTime) {
  std::vector<std::string> patterns = {"abcd", "bcd", "abcd"};
  auto m = LeakMatcher::Build(Spans(patterns));
  ASSERT_TRUE(m.ok());
  std::multiset<Match> want = {{0, 5}, {1, 5}, {2, 5}};
  EXPECT_EQ(Scan(*m, "xabcdx", {}), want);
}

TEST(LeakMatcher, RandomPatternsMatchBruteForceAtEverySplit) {
  std::mt19937 rng(42);
  for (int round = 0; round < 40; ++round) {
    // A small alphabet makes partial matches and failure-link chains frequent.
    const int alphabet = round % 2 == 0 ? 3 : 256;
    auto byte = [&] { return static_cast<char>(rng() % alphabet + (alphabet == 3 ? 'a' : 0)); };
    std::vector<std::string> patterns;
    for (int i = 0; i < 1 + static_cast<int>(rng() % 12); ++i) {
      std::string p;
      for (int j = 0; j < 1 + static_cast<int>(rng() % 7); ++j) p.push_back(byte());
      patterns.push_back(p);
    }
    std::string text;
    for (int i = 0; i < 300; ++i) text.push_back(byte());
    auto want = Naive(patterns, text);
    for (size_t budget : {LeakMatcher::kDefaultDenseBudget, size_t{0}}) {
      auto m = LeakMatcher::Build(Spans(patterns), budget);
      ASSERT_TRUE(m.ok());
      EXPECT_EQ(Scan(*m, text, {}), want) << "round " << round;
      for (size_t cut = 1; cut < 40; ++cut) {
        EXPECT_EQ(Scan(*m, text, {cut, cut + 1, cut + 5}), want) << "round " << round;
      }
    }
  }
}

TEST(LeakMatcher, LongInputsWalkedAsTwoHalvesMatchBruteForce) {
  // Inputs of 1024 bytes and more are split in two interleaved halves; matches are dense here,
  // so many straddle the halves' seam, whatever the chunking.
  std::mt19937 rng(7);
  for (int round = 0; round < 10; ++round) {
    std::vector<std::string> patterns;
    for (int i = 0; i < 8; ++i) {
      std::string p;
      for (int j = 0; j < 1 + static_cast<int>(rng() % 12); ++j) p.push_back("ab"[rng() % 2]);
      patterns.push_back(p);
    }
    std::string text;
    for (int i = 0; i < 5000; ++i) text.push_back("abc"[rng() % 3]);
    auto want = Naive(patterns, text);
    auto m = LeakMatcher::Build(Spans(patterns));
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->dense());
    EXPECT_EQ(Scan(*m, text, {}), want) << "round " << round;
    for (size_t cut : {size_t{1}, size_t{1023}, size_t{1024}, size_t{2049}, size_t{2500}}) {
      EXPECT_EQ(Scan(*m, text, {cut}), want) << "round " << round << " cut " << cut;
      EXPECT_EQ(Scan(*m, text, {cut, cut + 1030}), want) << "round " << round << " cut " << cut;
    }
  }
}

TEST(LeakMatcher, FindsEveryMatchAroundTheSeamOfTheHalves) {
  const std::vector<std::string> patterns = {"abcdefghijkl", "bcdefghijk", "l", "zz"};
  auto m = LeakMatcher::Build(Spans(patterns));
  ASSERT_TRUE(m.ok());
  for (size_t n : {size_t{1024}, size_t{2048}, size_t{4097}}) {
    for (size_t at = n / 2 - 14; at <= n / 2 + 2; ++at) {
      std::string text(n, '.');
      text.replace(at, 12, "abcdefghijkl");
      auto want = Naive(patterns, text);
      ASSERT_EQ(want.size(), 3u);
      EXPECT_EQ(Scan(*m, text, {}), want) << "n " << n << " at " << at;
    }
  }
}

TEST(LeakMatcher, HandlesEveryByteValue) {
  std::vector<std::string> patterns;
  for (int b = 0; b < 256; ++b) patterns.push_back(std::string(1, static_cast<char>(b)) + "\xff");
  std::string text;
  for (int b = 255; b >= 0; --b) text += std::string(1, static_cast<char>(b)) + "\xff";
  for (size_t budget : {LeakMatcher::kDefaultDenseBudget, size_t{0}}) {
    auto m = LeakMatcher::Build(Spans(patterns), budget);
    ASSERT_TRUE(m.ok());
    if (budget != 0) {
      EXPECT_EQ(m->class_count(), 256u);  // no byte is outside every pattern
    }
    EXPECT_EQ(Scan(*m, text, {}), Naive(patterns, text));
  }
}

TEST(LeakMatcher, ReportsLengthsAndStates) {
  auto m = LeakMatcher::Build(Spans({"abc", "abd", "x"}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->pattern_count(), 3u);
  EXPECT_EQ(m->pattern_length(1), 3u);
  EXPECT_EQ(m->max_pattern_length(), 3u);
  EXPECT_EQ(m->state_count(), 6u);  // root, a, ab, abc, abd, x
  EXPECT_EQ(m->class_count(), 6u);  // a b c d x + everything else
}

TEST(LeakMatcher, RejectsAnEmptyPattern) {
  auto m = LeakMatcher::Build(Spans({"abc", ""}));
  EXPECT_EQ(m.status(), InvalidArgumentError("leak matcher: pattern 1 is empty"));
}

}  // namespace
}  // namespace latchkey
