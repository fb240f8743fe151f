#include "builder/solver/progress_json.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/solver/progress_test_util.h"

namespace latchkey::build {
namespace {

using executor::OutputStream;
using std::chrono::milliseconds;
using testing::FakeClock;
using testing::MemFd;
using testing::ScopedSecret;

std::vector<nlohmann::json> ParseLines(const std::string& text) {
  std::vector<nlohmann::json> events;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    events.push_back(j);
  }
  return events;
}

TEST(ProgressJson, OneEventPerLineWithItsFields) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kJson, out.fd(), clock.fn());
  int a = w->Start("[1/3] FROM alpine");
  w->Cached(a);
  int b = w->Start("[2/3] RUN echo hi");
  clock.Advance(milliseconds(123));
  w->Log(b, OutputStream::kStdout, "h");
  clock.Advance(milliseconds(5));
  w->Log(b, OutputStream::kStdout, "i\nsecond\nthi");
  w->Log(b, OutputStream::kStderr, "oops\n");
  w->Note(b, "exporting layers");
  clock.Advance(milliseconds(272));
  w->Done(b);
  int c = w->Start("[3/3] RUN false");
  w->Error(c, "exit code: 1");
  w->Print("WARNING: done\n");
  w->Finish();

  std::string text = out.contents();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto events = ParseLines(text);
  ASSERT_EQ(events.size(), 11u) << text;
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (const auto& e : events) {
    ASSERT_TRUE(e.contains("event")) << e;
    ASSERT_TRUE(e.contains("time")) << e;
    EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(), rfc3339)) << e;
  }
  EXPECT_EQ(events[0]["event"], "start");
  EXPECT_EQ(events[0]["vertex"], 1);
  EXPECT_EQ(events[0]["name"], "[1/3] FROM alpine");
  EXPECT_EQ(events[1]["event"], "cached");
  EXPECT_EQ(events[1]["vertex"], 1);
  EXPECT_EQ(events[2]["event"], "start");
  EXPECT_EQ(events[2]["vertex"], 2);
  EXPECT_EQ(events[3]["event"], "log");
  EXPECT_EQ(events[3]["vertex"], 2);
  EXPECT_EQ(events[3]["stream"], "stdout");
  EXPECT_DOUBLE_EQ(events[3]["elapsed"].get<double>(), 0.123);
  EXPECT_EQ(events[3]["data"], "hi\nsecond\n");
  EXPECT_EQ(events[4]["event"], "log");
  EXPECT_EQ(events[4]["stream"], "stderr");
  EXPECT_EQ(events[4]["data"], "oops\n");
  EXPECT_DOUBLE_EQ(events[4]["elapsed"].get<double>(), 0.128);
  EXPECT_EQ(events[5]["event"], "note");
  EXPECT_EQ(events[5]["text"], "exporting layers");
  // Done flushes the partial line first, without a newline.
  EXPECT_EQ(events[6]["event"], "log");
  EXPECT_EQ(events[6]["data"], "thi");
  EXPECT_EQ(events[7]["event"], "done");
  EXPECT_EQ(events[7]["vertex"], 2);
  EXPECT_DOUBLE_EQ(events[7]["duration"].get<double>(), 0.4);
  EXPECT_EQ(events[8]["event"], "start");
  EXPECT_EQ(events[9]["event"], "error");
  EXPECT_EQ(events[9]["vertex"], 3);
  EXPECT_EQ(events[9]["error"], "exit code: 1");
  EXPECT_EQ(events[10]["event"], "print");
  EXPECT_FALSE(events[10].contains("vertex"));
  EXPECT_EQ(events[10]["data"], "WARNING: done");
}

TEST(ProgressJson, TimesFollowTheClock) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kJson, out.fd(), clock.fn());
  w->Print("a");
  clock.Advance(milliseconds(2500));
  w->Print("b");
  auto events = ParseLines(out.contents());
  ASSERT_EQ(events.size(), 2u);
  auto a = events[0]["time"].get<std::string>();
  auto b = events[1]["time"].get<std::string>();
  // The seconds and milliseconds fields differ by exactly 2.5 s (modulo a minute).
  int ams = std::stoi(a.substr(17, 2)) * 1000 + std::stoi(a.substr(20, 3));
  int bms = std::stoi(b.substr(17, 2)) * 1000 + std::stoi(b.substr(20, 3));
  EXPECT_EQ((bms - ams + 60000) % 60000, 2500) << a << " " << b;
}

TEST(ProgressJson, RedactsBeforeEncodingEvenAcrossChunks) {
  ScopedSecret secret("pa\"ss\nword-77");
  MemFd out;
  auto w = NewProgressWriter(ProgressMode::kJson, out.fd());
  int a = w->Start("[1/1] RUN x");
  w->Log(a, OutputStream::kStdout, "v=pa\"ss");
  w->Log(a, OutputStream::kStdout, "\nword-77!\n");
  w->Error(a, "bad pa\"ss\nword-77");
  w->Finish();
  std::string text = out.contents();
  EXPECT_EQ(text.find("word-77"), std::string::npos) << text;
  auto events = ParseLines(text);
  ASSERT_EQ(events.size(), 3u) << text;
  // The value spans a newline: the two lines that complete in one Log call are redacted
  // together.
  EXPECT_EQ(events[1]["data"], "v=****!\n");
  EXPECT_EQ(events[2]["error"], "bad ****");
}

TEST(ProgressJson, InvalidUtf8BecomesReplacementCharacter) {
  MemFd out;
  auto w = NewProgressWriter(ProgressMode::kJson, out.fd());
  int a = w->Start("[1/1] RUN x");
  w->Log(a, OutputStream::kStdout,
         std::string("a\xff"
                     "b\n"));
  w->Finish();
  auto events = ParseLines(out.contents());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["data"],
            "a\xEF\xBF\xBD"
            "b\n");
}

TEST(ProgressJson, PausedOutputIsALogEventTheNextOneContinues) {
  ScopedSecret secret("hunter2-Xq9-pw");
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kJson, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN x");
  w->Log(a, OutputStream::kStdout, "line\nprompt> token=hunter2-X");
  w->LogPause(a, OutputStream::kStdout);
  clock.Advance(milliseconds(200));
  w->Log(a, OutputStream::kStdout, "q9-pw\n");
  w->Done(a);
  auto events = ParseLines(out.contents());
  ASSERT_EQ(events.size(), 5u) << out.contents();
  EXPECT_EQ(events[1]["event"], "log");
  EXPECT_EQ(events[1]["data"], "line\n");
  EXPECT_EQ(events[2]["event"], "log");
  EXPECT_EQ(events[2]["data"], "prompt> token=");  // what could begin the secret waits
  EXPECT_EQ(events[3]["event"], "log");
  EXPECT_EQ(events[3]["data"], "****\n");
  EXPECT_EQ(events[4]["event"], "done");
  EXPECT_EQ(out.contents().find("hunter"), std::string::npos);
}

TEST(ProgressJson, PhaseEventsCarryTheirDuration) {
  MemFd out;
  FakeClock clock;
  auto w = NewProgressWriter(ProgressMode::kJson, out.fd(), clock.fn());
  int a = w->Start("[1/1] RUN make");
  w->PhaseStart(a, "writing layer");
  clock.Advance(milliseconds(1234));
  w->PhaseDone(a, "writing layer");
  w->Done(a);
  auto events = ParseLines(out.contents());
  ASSERT_EQ(events.size(), 4u) << out.contents();
  // The field order of the line itself (ParseLines' objects sort their keys).
  std::string second = out.contents();
  second = second.substr(second.find('\n') + 1);
  EXPECT_EQ(second.rfind(R"({"event":"phase","vertex":1,"name":"writing layer","time":")", 0), 0u)
      << second;
  EXPECT_EQ(events[2]["event"], "phase_done");
  EXPECT_EQ(events[2]["vertex"], 1);
  EXPECT_EQ(events[2]["name"], "writing layer");
  EXPECT_DOUBLE_EQ(events[2]["duration"].get<double>(), 1.234);
  EXPECT_EQ(events[3]["event"], "done");
}

}  // namespace
}  // namespace latchkey::build
