#include "builder/solver/progress.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "builder/solver/progress_lines.h"
#include "builder/solver/progress_output.h"
#include "builder/solver/progress_test_util.h"

namespace latchkey::build {
namespace {

using executor::OutputStream;
using std::chrono::milliseconds;
using testing::FakeClock;
using testing::MemFd;
using testing::ScopedSecret;

TEST(ProgressMode, ParsesEveryMode) {
  EXPECT_EQ(*ParseProgressMode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(*ParseProgressMode("plain"), ProgressMode::kPlain);
  EXPECT_EQ(*ParseProgressMode("tty"), ProgressMode::kTty);
  EXPECT_EQ(*ParseProgressMode("json"), ProgressMode::kJson);
  EXPECT_EQ(*ParseProgressMode("quiet"), ProgressMode::kQuiet);
  for (auto mode : {ProgressMode::kAuto, ProgressMode::kPlain, ProgressMode::kTty,
                    ProgressMode::kJson, ProgressMode::kQuiet}) {
    EXPECT_EQ(*ParseProgressMode(ProgressModeName(mode)), mode);
  }
}

TEST(ProgressMode, RejectsUnknownModeWithExactMessage) {
  auto r = ParseProgressMode("fancy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "invalid progress mode \"fancy\": want auto, plain, tty, json or quiet");
  auto empty = ParseProgressMode("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            "invalid progress mode \"\": want auto, plain, tty, json or quiet");
  EXPECT_FALSE(ParseProgressMode("Plain").ok());
}

TEST(ProgressMode, AutoIsPlainWhenNotATerminal) {
  MemFd out;
  EXPECT_EQ(ResolveProgressMode(ProgressMode::kAuto, out.fd()), ProgressMode::kPlain);
  EXPECT_EQ(ResolveProgressMode(ProgressMode::kJson, out.fd()), ProgressMode::kJson);
  EXPECT_EQ(ResolveProgressMode(ProgressMode::kTty, out.fd()), ProgressMode::kTty);
}

TEST(ProgressFormat, LogElapsedPrecisionFollowsBuildKit) {
  EXPECT_EQ(FormatLogElapsed(0), "0.000");
  EXPECT_EQ(FormatLogElapsed(0.1234), "0.123");
  EXPECT_EQ(FormatLogElapsed(9.9994), "9.999");
  EXPECT_EQ(FormatLogElapsed(12.345), "12.35");
  EXPECT_EQ(FormatLogElapsed(123.45), "123.5");
  EXPECT_EQ(FormatSeconds(0.44, 1), "0.4");
  EXPECT_EQ(FormatSeconds(-1, 1), "0.0");
}

TEST(ProgressFormat, Rfc3339Millis) {
  auto t = std::chrono::system_clock::time_point(milliseconds(1795801631123));
  EXPECT_EQ(FormatRfc3339Millis(t), "2026-11-27T17:47:11.123Z");
}

std::vector<std::string> Texts(const std::vector<OutputLine>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.text + (l.complete ? "|" : "~"));
  return out;
}

TEST(ProgressLines, SplitsChunksIntoLines) {
  LineSplitter s(100);
  std::chrono::steady_clock::time_point t{};
  EXPECT_TRUE(s.Feed("ab", t).empty());
  EXPECT_TRUE(s.has_partial());
  EXPECT_EQ(Texts(s.Feed("c\n\nde\nf", t)), (std::vector<std::string>{"abc|", "|", "de|"}));
  EXPECT_EQ(Texts(s.Flush()), (std::vector<std::string>{"f~"}));
  EXPECT_FALSE(s.has_partial());
  EXPECT_TRUE(s.Flush().empty());
}

TEST(ProgressLines, LineTimeIsItsFirstByte) {
  LineSplitter s(100);
  auto at = [](int ms) { return std::chrono::steady_clock::time_point(milliseconds(ms)); };
  EXPECT_TRUE(s.Feed("a", at(5)).empty());
  auto lines = s.Feed("b\nc", at(9));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at, at(5));
  lines = s.Feed("\n", at(20));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at, at(9));
}

TEST(ProgressLines, LongLinesAreCutAtTheLimit) {
  LineSplitter s(4);
  EXPECT_EQ(Texts(s.Feed("abcdefghij\n", {})), (std::vector<std::string>{"abcd~", "efgh~", "ij|"}));
  EXPECT_TRUE(s.Feed("wxyz", {}).empty());
  // Exactly the limit, then its newline: one complete line.
  EXPECT_EQ(Texts(s.Feed("\n", {})), (std::vector<std::string>{"wxyz|"}));
}

TEST(ProgressLines, RedactsValuesSpanningLinesOfOneBatch) {
  ScopedSecret secret("-----BEGIN KEY-----\nAAAA\n-----END KEY-----");
  auto at = [](int ms) { return std::chrono::steady_clock::time_point(milliseconds(ms)); };
  std::vector<OutputLine> lines = {{"key: -----BEGIN KEY-----", true, at(1)},
                                   {"AAAA", true, at(2)},
                                   {"-----END KEY----- ok", true, at(2)},
                                   {"next", true, at(2)},
                                   {"part", false, at(3)}};
  auto out = RedactLines(SecretRegistry::Global(), lines);
  EXPECT_EQ(Texts(out), (std::vector<std::string>{"key: **** ok|", "next|", "part~"}));
  EXPECT_EQ(out[0].at, at(1));
  EXPECT_EQ(out[1].at, at(3));
  // Pieces of an over-long line come back joined, so a value across the cut is caught.
  ScopedSecret cut("abcdef");
  std::vector<OutputLine> pieces = {{"xxabc", false, at(1)}, {"defyy", true, at(1)}};
  EXPECT_EQ(Texts(RedactLines(SecretRegistry::Global(), pieces)),
            (std::vector<std::string>{"xx****yy|"}));
}

TEST(ProgressPlain, PrintsBuildKitStyleBlocks) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[internal] load build definition from Dockerfile");
  EXPECT_EQ(a, 1);
  clock.Advance(milliseconds(100));
  w->Note(a, "transferring dockerfile: 52B done");
  w->Done(a);
  int b = w->Start("[1/3] FROM docker.io/library/alpine:3.19");
  w->Cached(b);
  int c = w->Start("[2/3] RUN echo hi");
  EXPECT_EQ(c, 3);
  clock.Advance(milliseconds(123));
  w->Log(c, OutputStream::kStdout, "hel");
  clock.Advance(milliseconds(10));
  w->Log(c, OutputStream::kStdout, "lo\nwor");
  w->Log(c, OutputStream::kStderr, "warn\n");
  clock.Advance(milliseconds(300));
  w->Log(c, OutputStream::kStdout, "ld");
  w->Done(c);
  int d = w->Start("[3/3] RUN false");
  clock.Advance(milliseconds(12500));
  w->Log(d, OutputStream::kStderr, "boom\n");
  w->Error(d, "process \"/bin/sh -c false\" did not complete successfully: exit code: 1");
  w->Finish();
  w->Print("ERROR: failed to solve");
  EXPECT_EQ(out.contents(),
            "#1 [internal] load build definition from Dockerfile\n"
            "#1 transferring dockerfile: 52B done\n"
            "#1 DONE 0.1s\n"
            "\n"
            "#2 [1/3] FROM docker.io/library/alpine:3.19\n"
            "#2 CACHED\n"
            "\n"
            "#3 [2/3] RUN echo hi\n"
            "#3 0.123 hello\n"
            "#3 0.133 warn\n"
            "#3 0.133 world\n"
            "#3 DONE 0.4s\n"
            "\n"
            "#4 [3/3] RUN false\n"
            "#4 12.50 boom\n"
            "#4 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n"
            "\n"
            "------\n"
            " > [3/3] RUN false:\n"
            "12.50 boom\n"
            "------\n"
            "ERROR: failed to solve\n");
}

TEST(ProgressPlain, InterleavedVerticesReopenTheirBlocks) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[a 1/2] RUN one");
  int b = w->Start("[b 1/2] RUN two");
  clock.Advance(milliseconds(20));
  w->Log(a, OutputStream::kStdout, "x\n");
  w->Log(a, OutputStream::kStdout, "y\n");
  w->Done(b);
  w->Print("WARNING: something");
  w->Done(a);
  w->Finish();
  EXPECT_EQ(out.contents(),
            "#1 [a 1/2] RUN one\n"
            "#1 ...\n"
            "\n"
            "#2 [b 1/2] RUN two\n"
            "#2 ...\n"
            "\n"
            "#1 [a 1/2] RUN one\n"
            "#1 0.020 x\n"
            "#1 0.020 y\n"
            "#1 ...\n"
            "\n"
            "#2 [b 1/2] RUN two\n"
            "#2 DONE 0.0s\n"
            "\n"
            "WARNING: something\n"
            "#1 [a 1/2] RUN one\n"
            "#1 DONE 0.0s\n"
            "\n");
}

TEST(ProgressPlain, FinishFlushesPartialLinesOnce) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN printf abc");
  w->Log(a, OutputStream::kStdout, "abc");
  w->Finish();
  w->Finish();
  EXPECT_EQ(out.contents(), "#1 [1/1] RUN printf abc\n#1 0.000 abc\n");
}

TEST(ProgressPlain, UnknownVerticesAreIgnored) {
  MemFd out;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd());
  w->Log(7, OutputStream::kStdout, "x\n");
  w->Note(0, "n");
  w->Done(-1);
  w->Cached(2);
  w->Error(3, "e");
  w->Finish();
  EXPECT_EQ(out.contents(), "");
}

TEST(ProgressPlain, RedactsSecretsSplitAcrossChunks) {
  ScopedSecret secret("hunter2-Xq9-pw");
  MemFd out;
  FakeClock clock;
  {
    auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
    int a = w->Start("[1/1] RUN echo hunter2-Xq9-pw");
    w->Log(a, OutputStream::kStdout, "token=hunter2-");
    w->Log(a, OutputStream::kStdout, "Xq9-pw end\nhunt");
    w->Log(a, OutputStream::kStdout, "er2-Xq9-pw");
    w->Note(a, "note hunter2-Xq9-pw");
    w->Error(a, "failed: hunter2-Xq9-pw");
    w->Print("summary hunter2-Xq9-pw");
  }  // destruction finishes
  std::string got = out.contents();
  EXPECT_EQ(got.find("hunter2"), std::string::npos) << got;
  EXPECT_EQ(got,
            "#1 [1/1] RUN echo ****\n"
            "#1 0.000 token=**** end\n"
            "#1 note ****\n"
            "#1 0.000 ****\n"
            "#1 ERROR: failed: ****\n"
            "\n"
            "summary ****\n"
            "------\n"
            " > [1/1] RUN echo ****:\n"
            "0.000 token=**** end\n"
            "0.000 ****\n"
            "------\n");
}

TEST(ProgressPlain, RedactsEncodedForms) {
  ScopedSecret secret("opensesame");
  MemFd out;
  FakeClock clock;  // the "0.000" below is the fake clock's, not the machine's
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN x");
  // base64 of "opensesame", split in the middle.
  w->Log(a, OutputStream::kStdout, "b64 b3Blbn");
  w->Log(a, OutputStream::kStdout, "Nlc2FtZQ==\n");
  w->Finish();
  EXPECT_EQ(out.contents(), "#1 [1/1] RUN x\n#1 0.000 b64 ****\n");
}

TEST(ProgressPlain, PausedOutputShowsItsPartialLineBeforeTheStepEnds) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN x");
  w->Log(a, OutputStream::kStdout, "step 1\nwaiting for input");
  EXPECT_EQ(out.contents(), "#1 [1/1] RUN x\n#1 0.000 step 1\n");
  clock.Advance(milliseconds(150));
  w->LogPause(a, OutputStream::kStdout);
  EXPECT_EQ(out.contents(), "#1 [1/1] RUN x\n#1 0.000 step 1\n#1 0.000 waiting for input\n");
  w->LogPause(a, OutputStream::kStdout);  // nothing more to show
  w->LogPause(a, OutputStream::kStderr);
  w->Log(a, OutputStream::kStdout, ": ok\n");
  w->Done(a);
  EXPECT_EQ(out.contents(),
            "#1 [1/1] RUN x\n"
            "#1 0.000 step 1\n"
            "#1 0.000 waiting for input\n"
            "#1 0.150 : ok\n"
            "#1 DONE 0.1s\n"
            "\n");
}

TEST(ProgressPlain, PausedOutputKeepsBackWhatCouldBeginASecret) {
  ScopedSecret secret("hunter2-Xq9-pw");
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN x");
  w->Log(a, OutputStream::kStdout, "token=hunter2-X");
  w->LogPause(a, OutputStream::kStdout);
  EXPECT_EQ(out.contents(), "#1 [1/1] RUN x\n#1 0.000 token=\n");
  w->Log(a, OutputStream::kStdout, "q9-pw end\n");
  w->Done(a);
  std::string got = out.contents();
  EXPECT_EQ(got.find("hunter"), std::string::npos) << got;
  EXPECT_EQ(got, "#1 [1/1] RUN x\n#1 0.000 token=\n#1 0.000 **** end\n#1 DONE 0.0s\n\n");
}

TEST(ProgressPlain, PhasesPrintTheirStartAndDurationLikeBuildKit) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN make");
  clock.Advance(milliseconds(300));
  w->PhaseStart(a, "writing layer");
  clock.Advance(milliseconds(1240));
  w->PhaseDone(a, "writing layer");
  w->PhaseDone(a, "never started");
  w->Done(a);
  w->PhaseStart(7, "unknown vertex");
  EXPECT_EQ(out.contents(),
            "#1 [1/1] RUN make\n"
            "#1 writing layer\n"
            "#1 writing layer 1.2s done\n"
            "#1 never started 0.0s done\n"
            "#1 DONE 1.5s\n"
            "\n");
  MemFd quiet_out;
  auto q = NewProgressWriter(ProgressMode::kQuiet, quiet_out.fd(), clock.fn());
  int b = q->Start("[1/1] RUN make");
  q->PhaseStart(b, "writing layer");
  q->PhaseDone(b, "writing layer");
  q->Done(b);
  EXPECT_EQ(quiet_out.contents(), "");
}

TEST(ProgressQuiet, PrintsOnlyErrorsAndFreeLines) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kQuiet, out.fd(), clock.fn());
  int a = w->Start("[1/2] RUN ok");
  w->Log(a, OutputStream::kStdout, "hello\n");
  w->Note(a, "note");
  w->Done(a);
  int b = w->Start("[2/2] RUN false");
  w->Cached(a);
  w->Error(b, "exit code: 1");
  w->Finish();
  w->Print("ERROR: failed to solve");
  EXPECT_EQ(out.contents(),
            "#2 [2/2] RUN false\n"
            "#2 ERROR: exit code: 1\n"
            "\n"
            "ERROR: failed to solve\n");
}

TEST(ProgressPlain, ConcurrentWritersNeverInterleaveLines) {
  MemFd out;
  auto w = NewProgressWriter(ProgressMode::kPlain, out.fd());
  constexpr int kThreads = 4;
  constexpr int kLines = 300;
  std::vector<int> ids;
  for (int t = 0; t < kThreads; ++t) ids.push_back(w->Start("[" + std::to_string(t) + "] RUN x"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) {
        // Each line in two chunks, so lines are only whole if the writer buffers per vertex.
        std::string line = "thread-" + std::to_string(t) + "-line-" + std::to_string(i);
        w->Log(ids[t], OutputStream::kStdout, line.substr(0, 9));
        w->Log(ids[t], OutputStream::kStdout, line.substr(9) + "\n");
      }
      w->Done(ids[t]);
    });
  }
  for (auto& th : threads) th.join();
  w->Finish();
  std::istringstream in(out.contents());
  std::string line;
  std::vector<int> next(kThreads, 0);
  int open = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ASSERT_EQ(line[0], '#') << line;
    int n = std::stoi(line.substr(1));
    ASSERT_GE(n, 1);
    ASSERT_LE(n, kThreads);
    std::string rest = line.substr(line.find(' ') + 1);
    if (rest == "...") {
      open = 0;
      continue;
    }
    if (rest.starts_with("[")) {
      EXPECT_EQ(open, 0) << "header inside another block: " << line;
      open = n;
      continue;
    }
    EXPECT_EQ(open, n) << "line outside its block: " << line;
    if (rest.starts_with("DONE")) {
      open = 0;
      continue;
    }
    // "0.000 thread-T-line-I", in order per thread.
    std::string text = rest.substr(rest.find(' ') + 1);
    EXPECT_EQ(text, "thread-" + std::to_string(n - 1) + "-line-" + std::to_string(next[n - 1]));
    ++next[n - 1];
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kLines);
}

}  // namespace
}  // namespace latchkey::build
