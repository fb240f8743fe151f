// TtyProgressWriter: the `--progress tty` live view (format in progress.h and
// progress_tty_view.h). A refresher thread redraws the view in place every `interval`; Print
// lines scroll above it. Finish stops the thread, draws the final view and prints BuildKit's
// summary of each failed vertex's last output lines. Create it through NewProgressWriter.
//
// Thread-safety: every method is thread-safe (one mutex; output is written under it).
#ifndef LATCHKEY_BUILDER_BUILD_PROGRESS_TTY_H_
#define LATCHKEY_BUILDER_BUILD_PROGRESS_TTY_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "builder/build/progress.h"
#include "builder/build/progress_lines.h"
#include "builder/build/progress_tty_view.h"

namespace latchkey::build {

class TtyProgressWriter final : public ProgressWriter {
 public:
  // `fd` is not owned; its size comes from TIOCGWINSZ (80x24 when it is not a terminal).
  // `clock` must be callable. Starts the refresher thread.
  TtyProgressWriter(int fd, ProgressClock clock,
                    std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~TtyProgressWriter() override;

  int Start(std::string_view name) override;
  void Log(int vertex, executor::OutputStream stream, std::string_view chunk) override;
  void Note(int vertex, std::string_view text) override;
  void Cached(int vertex) override;
  void Done(int vertex) override;
  void Error(int vertex, std::string_view message) override;
  void Print(std::string_view line) override;
  void Finish() override;

  // Number of views drawn so far (live and final). For tests.
  int frames_drawn() const;

 private:
  struct Vertex {
    TtyVertexState state;
    std::string raw_name;  // redacted, unsanitised: for the error summary
    LineSplitter out{kMaxLogLine};
    LineSplitter err{kMaxLogLine};
    std::deque<std::string> recent;  // "0.123 line", redacted: for the error summary
  };

  void Loop();
  // All below: mu_ held.
  Vertex* Find(int vertex);
  // Adds `lines` of v (redacted together) to its recent lines and view tail.
  void AddLines(Vertex& v, std::vector<OutputLine> lines);
  void AddTail(Vertex& v, std::string_view text);
  void FlushLines(Vertex& v);
  void End(Vertex& v);
  // Moves the cursor back over the drawn view and clears it ("" when nothing is drawn).
  std::string EraseView();
  void Draw(bool final);

  const int fd_;
  const ProgressClock clock_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Vertex>> vertices_;  // vertices_[n - 1] is vertex n
  int drawn_lines_ = 0;                            // lines of the view on screen
  int frames_ = 0;
  unsigned tick_ = 0;
  bool cursor_hidden_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread refresher_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_PROGRESS_TTY_H_
