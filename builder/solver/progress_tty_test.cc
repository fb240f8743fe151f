#include "builder/solver/progress_tty.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "builder/solver/progress_test_util.h"
#include "builder/solver/progress_tty_view.h"

namespace latchkey::build {
namespace {

using executor::OutputStream;
using std::chrono::milliseconds;
using testing::FakeClock;
using testing::ScopedSecret;
using TimePoint = std::chrono::steady_clock::time_point;

TimePoint At(int ms) { return TimePoint(milliseconds(1000000 + ms)); }

std::string Blue(const std::string& s) { return "\x1b[34m" + s + "\x1b[0m"; }
std::string Red(const std::string& s) { return "\x1b[31m" + s + "\x1b[0m"; }
std::string Faint(const std::string& s) { return "\x1b[2m" + s + "\x1b[0m"; }

TtyVertexState Vertex(std::string name, int start_ms, std::optional<int> end_ms) {
  TtyVertexState v;
  v.name = std::move(name);
  v.start = At(start_ms);
  if (end_ms) v.end = At(*end_ms);
  return v;
}

std::vector<TtyVertexState> SampleBuild() {
  std::vector<TtyVertexState> vs;
  vs.push_back(Vertex("[1/3] FROM alpine", 0, 300));
  vs.push_back(Vertex("[2/3] RUN apk add curl", 300, 310));
  vs.back().cached = true;
  vs.push_back(Vertex("[3/3] RUN make -j2 all", 300, std::nullopt));
  vs.back().tail = {"cc -c a.c", "cc -c b.c"};
  return vs;
}

TEST(ProgressTtyView, LiveViewLayout) {
  TtyViewOptions options;
  options.width = 40;
  auto lines = RenderTtyView(SampleBuild(), At(2700), options);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "[+] Building 2.7s (2/3)",
                       Blue(" => [1/3] FROM alpine              0.3s"),
                       Blue(" => CACHED [2/3] RUN apk add curl  0.0s"),
                       " |> [3/3] RUN make -j2 all         2.4s",
                       Faint(" => => # cc -c a.c"),
                       Faint(" => => # cc -c b.c"),
                   }));
  options.tick = 2;
  EXPECT_EQ(RenderTtyView(SampleBuild(), At(2700), options)[3],
            " -> [3/3] RUN make -j2 all         2.4s");
}

TEST(ProgressTtyView, FinalViewMarksErrorsAndFinishes) {
  auto vs = SampleBuild();
  vs[2].end = At(2700);
  vs[2].failed = true;
  TtyViewOptions options;
  options.width = 40;
  options.final = true;
  EXPECT_EQ(RenderTtyView(vs, At(2800), options),
            (std::vector<std::string>{
                "[+] Building 2.8s (3/3) FINISHED",
                Blue(" => [1/3] FROM alpine              0.3s"),
                Blue(" => CACHED [2/3] RUN apk add curl  0.0s"),
                Red(" => ERROR [3/3] RUN make -j2 all   2.4s"),
            }));
  // Not every vertex completed: no FINISHED, and output lines are not part of a final view.
  vs[2].end.reset();
  vs[2].failed = false;
  auto lines = RenderTtyView(vs, At(2800), options);
  EXPECT_EQ(lines.front(), "[+] Building 2.8s (2/3)");
  EXPECT_EQ(lines.size(), 4u);
}

TEST(ProgressTtyView, EmptyBuild) {
  EXPECT_EQ(RenderTtyView({}, At(5), TtyViewOptions{}),
            (std::vector<std::string>{"[+] Building 0.0s (0/0)"}));
}

TEST(ProgressTtyView, ShortTerminalDropsEarliestCompletedFirst) {
  std::vector<TtyVertexState> vs;
  for (int i = 1; i <= 4; ++i) vs.push_back(Vertex("[" + std::to_string(i) + "/5] RUN x", 0, 0));
  vs.push_back(Vertex("[5/5] RUN y", 0, std::nullopt));
  vs.back().tail = {"out"};
  TtyViewOptions options;
  options.width = 30;
  options.height = 5;  // room for 3 lines below the header
  auto lines = RenderTtyView(vs, At(0), options);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[1].find("[3/5] RUN x"), std::string::npos);
  EXPECT_NE(lines[2].find("[4/5] RUN x"), std::string::npos);
  EXPECT_NE(lines[3].find("[5/5] RUN y"), std::string::npos);
  options.height = 8;  // room for the output line too
  lines = RenderTtyView(vs, At(0), options);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[6], Faint(" => => # out"));
}

TEST(ProgressTtyView, LinesFitTheWidthInCodePoints) {
  std::vector<TtyVertexState> vs;
  vs.push_back(Vertex("[1] RUN h\xC3\xA9 w\xC3\xB6\xC3\xB6rld", 0, std::nullopt));
  vs.back().tail = {
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"};
  TtyViewOptions options;
  options.width = 24;
  auto lines = RenderTtyView(vs, At(0), options);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], " |> [1] RUN h\xC3\xA9 w\xC3\xB6  0.0s");
  EXPECT_EQ(lines[2], Faint(" => => # \xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                            "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"));
  options.width = 10;  // too narrow for vertex lines
  EXPECT_EQ(RenderTtyView(vs, At(0), options).size(), 1u);
}

TEST(ProgressTtyView, SanitizesLinesAndNames) {
  EXPECT_EQ(SanitizeTtyLine("50%\r100%\r"), "100%");
  EXPECT_EQ(SanitizeTtyLine("\x1b[31mred\x1b[0m\tx\x07y"), "red xy");
  EXPECT_EQ(SanitizeTtyLine("a\x1b]0;title\x07"
                            "b\x1b]8;;u\x1b\\c"),
            "abc");
  EXPECT_EQ(SanitizeTtyName("RUN <<EOF\necho\tx\nEOF"), "RUN <<EOF echo x EOF");
}

// Reads a pipe to EOF on a thread.
class PipeReader {
 public:
  PipeReader() {
    EXPECT_EQ(::pipe(fds_), 0);
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fds_[0], buf, sizeof(buf))) > 0) text_.append(buf, n);
    });
  }
  ~PipeReader() { CloseAndRead(); }
  int write_fd() const { return fds_[1]; }
  const std::string& CloseAndRead() {
    if (fds_[1] >= 0) {
      ::close(fds_[1]);
      fds_[1] = -1;
      reader_.join();
      ::close(fds_[0]);
    }
    return text_;
  }

 private:
  int fds_[2] = {-1, -1};
  std::string text_;
  std::thread reader_;
};

TEST(ProgressTty, DrawsLiveAndFinalViewsAndStops) {
  ScopedSecret secret("tty-s3cret-value");
  PipeReader pipe;
  FakeClock clock;
  TtyProgressWriter w(pipe.write_fd(), clock.fn(), milliseconds(5));
  int a = w.Start("[1/2] RUN echo hi");
  w.Log(a, OutputStream::kStdout, "hi\n");
  clock.Advance(milliseconds(400));
  w.Done(a);
  int b = w.Start("[2/2] RUN false");
  w.Log(b, OutputStream::kStdout, "hi tty-s3cret-");
  w.Log(b, OutputStream::kStdout, "value\n");
  w.Log(b, OutputStream::kStderr, "boom\n");
  // Wait for the refresher to draw a live view with b's output (it redraws every 5 ms).
  int before = w.frames_drawn();
  for (int i = 0; i < 2000 && w.frames_drawn() <= before; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GT(w.frames_drawn(), before);
  w.Error(b, "exit code: 1");
  w.Print("WARNING: a free line");
  w.Finish();
  int frames = w.frames_drawn();
  w.Finish();  // idempotent
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(w.frames_drawn(), frames);  // the refresher has stopped
  w.Print("ERROR: failed to solve");
  const std::string& text = pipe.CloseAndRead();

  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  EXPECT_NE(text.find("WARNING: a free line\n"), std::string::npos);
  EXPECT_NE(text.find("[+] Building 0.4s (2/2) FINISHED"), std::string::npos) << text;
  EXPECT_NE(text.find(" => [1/2] RUN echo hi"), std::string::npos);
  EXPECT_NE(text.find(" => ERROR [2/2] RUN false"), std::string::npos);
  EXPECT_NE(text.find("> [2/2] RUN false"), std::string::npos);
  EXPECT_NE(text.find(" => => # hi ****"), std::string::npos);
  EXPECT_NE(text.find(" => => # boom"), std::string::npos);
  // After the final view: the cursor comes back, then the failed vertex's summary.
  std::string tail =
      "\x1b[?25h------\n > [2/2] RUN false:\n0.000 hi ****\n0.000 boom\n------\n"
      "ERROR: failed to solve\n";
  ASSERT_GE(text.size(), tail.size());
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
}

TEST(ProgressTty, ForcedTtyModeWritesToAPipe) {
  PipeReader pipe;
  {
    auto w = NewProgressWriter(ProgressMode::kTty, pipe.write_fd());
    int a = w->Start("[1/1] FROM scratch");
    w->Cached(a);
  }  // destruction finishes
  const std::string& text = pipe.CloseAndRead();
  EXPECT_NE(text.find(" => CACHED [1/1] FROM scratch"), std::string::npos) << text;
  EXPECT_NE(text.find("FINISHED"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::build
