#include "secure/redactor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

namespace latchkey {
namespace {

std::shared_ptr<const SecretBuffer> Secret(const char* s) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(s), std::strlen(s)});
  EXPECT_TRUE(buf.ok());
  return std::make_shared<const SecretBuffer>(std::move(*buf));
}

TEST(Redactor, MasksRawBase64AndHexForms) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("canary-7d1e")).ok());
  // base64("canary-7d1e") = Y2FuYXJ5LTdkMWU=, hex = 63616e6172792d37643165
  EXPECT_EQ(reg.Redact("token=canary-7d1e end"), "token=**** end");
  EXPECT_EQ(reg.Redact("b64 Y2FuYXJ5LTdkMWU= and Y2FuYXJ5LTdkMWU"), "b64 **** and ****");
  EXPECT_EQ(reg.Redact("hex 63616e6172792d37643165 HEX 63616E6172792D37643165"),
            "hex **** HEX ****");
  EXPECT_EQ(reg.Redact("nothing here"), "nothing here");
  EXPECT_TRUE(reg.Contains("xxcanary-7d1exx"));
  EXPECT_FALSE(reg.Contains("canary-7d1"));
}

TEST(Redactor, MasksBase64AtEveryAlignment) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("s3cr3t-v4lue?")).ok());
  // base64 of the value after 0, 1, 2 and 5 other bytes (the last how Docker's config.json
  // `auth` is made), standard and URL-safe; only the prefix's own characters may stay.
  EXPECT_EQ(reg.Redact("czNjcjN0LXY0bHVlPw=="), "****");                              // value
  EXPECT_EQ(reg.Redact("OnMzY3IzdC12NGx1ZT8="), "O****");                             // ":" value
  EXPECT_EQ(reg.Redact("YTpzM2NyM3QtdjRsdWU/"), "YT****");                            // "a:" value
  EXPECT_EQ(reg.Redact("YTpzM2NyM3QtdjRsdWU_"), "YT****");                            // URL-safe
  EXPECT_EQ(reg.Redact("auth dXNlcjpzM2NyM3QtdjRsdWU/ end"), "auth dXNlcj**** end");  // "user:"
  EXPECT_EQ(reg.Redact("dXNlcjpzM2NyM3QtdjRsdWU/eA=="), "dXNlcj****eA==");  // "user:" value "x"
}

TEST(Redactor, MasksTheCredentialPartsOfAStructuredValue) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("registry=https://registry.example.com/\n"
                             "//registry.example.com/:_authToken=npm_tok3n42\n"))
                  .ok());
  ASSERT_TRUE(reg.Add(Secret("[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n")).ok());
  EXPECT_EQ(reg.Redact("token is npm_tok3n42."), "token is ****.");
  EXPECT_EQ(reg.Redact("b64 bnBtX3RvazNuNDI="), "b64 ****");
  EXPECT_EQ(reg.Redact("key wJalrXUtnFEMI/K7MDENG"), "key ****");
  // The non-secret URL of the .npmrc is not a part.
  EXPECT_EQ(reg.Redact("https://registry.example.com/"), "https://registry.example.com/");
}

TEST(Redactor, OverlappingMatchesLeaveNoFragment) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("abcabc")).ok());
  EXPECT_EQ(reg.Redact("xabcabcabcx"), "x****x");
}

TEST(Redactor, RemoveStopsMasking) {
  SecretRegistry reg;
  auto h = reg.Add(Secret("s3cr3t-value"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(reg.Redact("s3cr3t-value"), "****");
  reg.Remove(*h);
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.Redact("s3cr3t-value"), "s3cr3t-value");
}

TEST(Redactor, EmptySecretNeverMatches) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("")).ok());
  EXPECT_EQ(reg.Redact("abc"), "abc");
}

TEST(Redactor, MasksUrlEncodedFormsLikeTheLeakGuard) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("tok/en+k?y")).ok());
  EXPECT_EQ(reg.Redact("curl -u x:tok%2Fen%2Bk%3Fy end"), "curl -u x:**** end");
  EXPECT_EQ(reg.Redact("q=tok%2fen%2bk%3fy&"), "q=****&");
  EXPECT_TRUE(reg.Contains("tok%2Fen%2Bk%3Fy"));
}

TEST(Redactor, ValuesThatOverlapOrArePrefixesOfEachOther) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("abc-secret")).ok());
  ASSERT_TRUE(reg.Add(Secret("abc-secret-longer")).ok());
  ASSERT_TRUE(reg.Add(Secret("longer-tail")).ok());
  EXPECT_EQ(reg.Redact("abc-secret-longer!"), "****!");
  EXPECT_EQ(reg.Redact("abc-secret-long"), "****-long");
  EXPECT_EQ(reg.Redact("abc-secret-longer-tail."), "****.");
  EXPECT_EQ(reg.Redact("longer-tai abc-secre"), "longer-tai abc-secre");
}

TEST(Redactor, PartialMatchLengthIsTheLongestSuffixThatCouldStartAForm) {
  SecretRegistry reg;
  EXPECT_EQ(reg.PartialMatchLength("anything canary-7"), 0u);  // nothing registered
  ASSERT_TRUE(reg.Add(Secret("canary-7d1e")).ok());
  EXPECT_EQ(reg.PartialMatchLength("token=canary-7"), 8u);  // "canary-7"
  EXPECT_EQ(reg.PartialMatchLength("token=c"), 1u);
  EXPECT_EQ(reg.PartialMatchLength("done"), 0u);
  EXPECT_EQ(reg.PartialMatchLength(""), 0u);
  // A whole value is not partial (Redact masks it); its encodings are forms too.
  EXPECT_EQ(reg.PartialMatchLength("token=canary-7d1e"), 0u);
  EXPECT_EQ(reg.PartialMatchLength("hex 63616e61"), 8u);
  EXPECT_EQ(reg.PartialMatchLength("b64 Y2FuYX"), 6u);
  // A value that is the beginning of a longer one is held back as the longer one's start.
  ASSERT_TRUE(reg.Add(Secret("canary-7d1e-and-more")).ok());
  EXPECT_EQ(reg.PartialMatchLength("token=canary-7d1e"), 11u);
}

TEST(Redactor, RemovingOneOfTwoRegistrationsOfAValueKeepsMasking) {
  SecretRegistry reg;
  auto first = reg.Add(Secret("shared-value"));
  auto second = reg.Add(Secret("shared-value"));
  auto other = reg.Add(Secret("other-value"));
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  reg.Remove(*first);
  EXPECT_EQ(reg.Redact("shared-value other-value"), "**** ****");
  reg.Remove(*other);
  EXPECT_EQ(reg.Redact("shared-value other-value"), "**** other-value");
  reg.Remove(*second);
  reg.Remove(*second);  // unknown by now: ignored
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.Redact("shared-value"), "shared-value");
  EXPECT_FALSE(reg.Contains("shared-value"));
}

TEST(Redactor, AnEmptyValueDoesNotDisturbTheOthers) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("kept-secret")).ok());
  auto empty = reg.Add(Secret(""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(reg.Redact("kept-secret"), "****");
  reg.Remove(*empty);
  EXPECT_EQ(reg.Redact("kept-secret"), "****");
  EXPECT_EQ(reg.size(), 1u);
}

// A builder that fails while `*fail` is set, else builds as the registry does (fault injection
// by wrapping the real SecretMatcher::Build); counts its calls.
SecretRegistry::MatcherBuilder FailingWhile(const bool* fail, int* calls) {
  return [fail, calls](std::span<const SecretMatcher::Input> in,
                       size_t budget) -> Result<SecretMatcher> {
    ++*calls;
    if (*fail) return ResourceExhaustedError("secure memory exhausted (injected)");
    return SecretMatcher::Build(in, budget);
  };
}

TEST(Redactor, AFailedRebuildAfterAnAddMasksEverythingUntilARebuildWorks) {
  bool fail = false;
  int calls = 0;
  SecretRegistry reg(FailingWhile(&fail, &calls));
  ASSERT_TRUE(reg.Add(Secret("first-9f2c")).ok());
  EXPECT_EQ(reg.Redact("a first-9f2c b"), "a **** b");
  fail = true;
  ASSERT_TRUE(reg.Add(Secret("second-41aa")).ok());
  // The new value cannot be searched for: nothing may pass unmasked, not even harmless text.
  EXPECT_EQ(reg.Redact("a second-41aa b"), "****");
  EXPECT_EQ(reg.Redact("harmless"), "****");
  EXPECT_TRUE(reg.Contains("harmless"));
  const int failed_calls = calls;
  EXPECT_GE(failed_calls, 4);  // every call tried again
  fail = false;
  EXPECT_EQ(reg.Redact("a second-41aa b first-9f2c"), "a **** b ****");
  EXPECT_FALSE(reg.Contains("harmless"));
  EXPECT_EQ(reg.Redact("harmless"), "harmless");
  EXPECT_EQ(calls, failed_calls + 1);  // rebuilt once, then reused
}

TEST(Redactor, AFailedRebuildAfterOnlyRemovalsKeepsTheOldAutomaton) {
  bool fail = false;
  int calls = 0;
  SecretRegistry reg(FailingWhile(&fail, &calls));
  ASSERT_TRUE(reg.Add(Secret("kept-77b1")).ok());
  auto removed = reg.Add(Secret("gone-03de"));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(reg.Redact("kept-77b1 gone-03de"), "**** ****");
  fail = true;
  reg.Remove(*removed);
  // The previous automaton masks a superset: the removed value stays masked, the rest shows.
  EXPECT_EQ(reg.Redact("kept-77b1 gone-03de plain"), "**** **** plain");
  EXPECT_FALSE(reg.Contains("plain"));
  fail = false;
  EXPECT_EQ(reg.Redact("kept-77b1 gone-03de plain"), "**** gone-03de plain");
}

TEST(Redactor, RedactsWhileOtherThreadsAddAndRemove) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("steady-secret")).ok());
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; i < 50; ++i) {
      auto h = reg.Add(Secret(("churn-" + std::to_string(i)).c_str()));
      if (h.ok()) reg.Remove(*h);
    }
    stop = true;
  });
  size_t rounds = 0;
  while (!stop || rounds == 0) {
    EXPECT_EQ(reg.Redact("a steady-secret b"), "a **** b");
    ++rounds;
  }
  churn.join();
  EXPECT_EQ(reg.size(), 1u);
}

}  // namespace
}  // namespace latchkey
