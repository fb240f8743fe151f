#include "builder/executor/output_redactor.h"

#include <gtest/gtest.h>

namespace latchkey::executor {
namespace {

std::shared_ptr<const SecretBuffer> Secret(std::string_view v) {
  auto b = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  return std::make_shared<const SecretBuffer>(std::move(b).value());
}

class RedactingStreamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(registry_.Add(Secret("hunter2-secret")).ok()); }
  std::string Run(const std::vector<std::string>& chunks, size_t max_len = 64) {
    std::string out;
    RedactingStream s(registry_, max_len, [&](std::string_view t) {
      EXPECT_FALSE(t.empty());
      out.append(t);
    });
    for (const auto& c : chunks) s.Feed(c);
    s.Finish();
    return out;
  }
  SecretRegistry registry_;
};

TEST_F(RedactingStreamTest, WholeValueInOneChunk) {
  EXPECT_EQ(Run({"pw=hunter2-secret\n"}), "pw=****\n");
}

TEST_F(RedactingStreamTest, ValueSplitAcrossChunks) {
  EXPECT_EQ(Run({"pw=hunt", "er2-se", "cret\nnext\n"}), "pw=****\nnext\n");
}

TEST_F(RedactingStreamTest, ValueSplitByteByByte) {
  std::vector<std::string> chunks;
  for (char c : std::string("a hunter2-secret b")) chunks.emplace_back(1, c);
  EXPECT_EQ(Run(chunks), "a **** b");
}

TEST_F(RedactingStreamTest, MultiLineValueSplitAtNewline) {
  ASSERT_TRUE(registry_.Add(Secret("line-one\nline-two")).ok());
  EXPECT_EQ(Run({"key: line-one\n", "line-two\nend\n"}), "key: ****\nend\n");
}

TEST_F(RedactingStreamTest, EmitsEarlyWhenSafe) {
  std::string out;
  RedactingStream s(registry_, 20, [&](std::string_view t) { out.append(t); });
  s.Feed(std::string(100, 'x'));
  EXPECT_EQ(out.size(), 81u);  // all but the withheld 19 bytes
  s.Feed(std::string(10, 'x') + "\n" + std::string(30, 'y'));
  EXPECT_EQ(out.size(), 111u);  // cut just after the newline
  s.Finish();
  EXPECT_EQ(out, std::string(110, 'x') + "\n" + std::string(30, 'y'));
}

TEST_F(RedactingStreamTest, LongOutputWithoutNewlines) {
  std::string big(1 << 20, 'y');
  std::vector<std::string> chunks = {big.substr(0, 500000), big.substr(500000) + "hunter2-",
                                     "secret" + big};
  EXPECT_EQ(Run(chunks), big + "****" + big);
}

// The registry searches with one automaton over every form of every value (secure/redactor.h);
// these check that what spans a chunk boundary is still masked whole.
TEST_F(RedactingStreamTest, ValueThatIsAPrefixOfAnotherSplitAcrossChunks) {
  ASSERT_TRUE(registry_.Add(Secret("hunter2-secret-longer")).ok());
  EXPECT_EQ(Run({"a hunter2-sec", "ret-longer b\n"}), "a **** b\n");
  EXPECT_EQ(Run({"a hunter2-secret", "-long", "er\n"}), "a ****\n");
  EXPECT_EQ(Run({"a hunter2-secret", "-lo\n"}), "a ****-lo\n");
}

TEST_F(RedactingStreamTest, OverlappingValuesSplitAcrossChunks) {
  ASSERT_TRUE(registry_.Add(Secret("secret-and-more")).ok());
  // "hunter2-secret" and "secret-and-more" share "secret": one mask, no fragment between.
  EXPECT_EQ(Run({"x hunter2-se", "cret-and-", "more y\n"}), "x **** y\n");
}

TEST_F(RedactingStreamTest, EncodedFormsSplitAcrossChunks) {
  // base64("hunter2-secret") = aHVudGVyMi1zZWNyZXQ= (the '=' padding is masked too), its URL form
  // is the value itself, hex 68756e746572322d736563726574.
  EXPECT_EQ(Run({"b64 aHVudGVy", "Mi1zZWNyZXQ", "= end\n"}), "b64 **** end\n");
  EXPECT_EQ(Run({"hex 68756e7465", "72322d736563726574\n"}), "hex ****\n");
  ASSERT_TRUE(registry_.Add(Secret("pass/word+1")).ok());
  EXPECT_EQ(Run({"u=pass%2F", "word%2B1&x\n"}), "u=****&x\n");
}

// A pause in the output (the reader calls FlushIdle after kIdleFlushMillis without data).
TEST_F(RedactingStreamTest, FinalLineWithoutNewlineShowsOnIdleFlush) {
  std::string out;
  RedactingStream s(registry_, 64, [&](std::string_view t) { out.append(t); });
  s.Feed("step 1\nPress any key or wait");
  EXPECT_EQ(out, "");  // all within the withheld window
  EXPECT_FALSE(s.FlushIdle());
  EXPECT_EQ(out, "step 1\nPress any key or wait");
  EXPECT_FALSE(s.withholding());
  s.Finish();
  EXPECT_EQ(out, "step 1\nPress any key or wait");
}

TEST_F(RedactingStreamTest, CanarySplitAcrossAnIdleFlushIsStillMasked) {
  std::string out;
  RedactingStream s(registry_, 64, [&](std::string_view t) { out.append(t); });
  s.Feed("token: hunt");
  EXPECT_TRUE(s.FlushIdle());  // "hunt" could begin the value: kept
  EXPECT_EQ(out, "token: ");
  s.Feed("er2-secret\n");
  s.Finish();
  EXPECT_EQ(out, "token: ****\n");
}

TEST_F(RedactingStreamTest, EncodedCanarySplitAcrossIdleFlushesIsStillMasked) {
  std::string out;
  RedactingStream s(registry_, 64, [&](std::string_view t) { out.append(t); });
  s.Feed("b64 aHVudGVy");
  s.FlushIdle();
  EXPECT_EQ(out, "b64 ");
  s.Feed("Mi1z");
  s.FlushIdle();  // still the beginning of the base64 form: nothing more shown
  EXPECT_EQ(out, "b64 ");
  s.Feed("ZWNyZXQ= end\n");
  s.Finish();
  EXPECT_EQ(out, "b64 **** end\n");
}

TEST_F(RedactingStreamTest, IdleFlushThenMoreOutputKeepsRedacting) {
  std::string out;
  RedactingStream s(registry_, 64, [&](std::string_view t) { out.append(t); });
  s.Feed("downloading...");
  s.FlushIdle();
  s.Feed(" done\npw=hunter2-se");
  s.FlushIdle();
  EXPECT_EQ(out, "downloading... done\npw=");
  s.Feed("cret and a whole hunter2-secret\n");
  s.Finish();
  EXPECT_EQ(out, "downloading... done\npw=**** and a whole ****\n");
}

}  // namespace
}  // namespace latchkey::executor
