// TtyProgressWriter: the `--progress tty` live view (format in progress.h and
// progress_tty_view.h). A refresher thread redraws the view in place every `interval`; Print
// lines scroll above it. Finish stops the thread, draws the final view and prints BuildKit's
// summary of each failed vertex's last output lines. Create it through NewProgressWriter.
//
// Thread-safety: every method is thread-safe (VertexWriter's mutex; output is written under it).
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_TTY_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_TTY_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "builder/solver/progress.h"
#include "builder/solver/progress_lines.h"
#include "builder/solver/progress_tty_view.h"
#include "builder/solver/progress_vertex_writer.h"

namespace latchkey::build {

struct TtyVertex : VertexLines {
  TtyVertexState state;
  std::string raw_name;            // redacted, unsanitised: for the error summary
  std::deque<std::string> recent;  // "0.123 line", redacted: for the error summary
};

class TtyProgressWriter final : public VertexWriter<TtyVertex> {
 public:
  // `fd` is not owned; its size comes from TIOCGWINSZ (80x24 when it is not a terminal).
  // `clock` must be callable. Starts the refresher thread.
  TtyProgressWriter(int fd, ProgressClock clock,
                    std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~TtyProgressWriter() override;

  void Finish() override;

  // Number of views drawn so far (live and final). For tests.
  int frames_drawn() const;

 private:
  using Vertex = TtyVertex;

  void OnStart(Vertex& v, std::string_view name) override;
  // Adds `lines` of v (redacted together) to its recent lines and view tail.
  void OnLines(Vertex& v, executor::OutputStream stream, std::vector<OutputLine> lines,
               TimePoint now) override;
  // Shown like an output line: the view has no separate place for status lines.
  void OnNote(Vertex& v, std::string_view text) override;
  // Also like an output line: "writing layer", then "writing layer 1.2s done".
  void OnPhase(Vertex& v, std::string_view name, std::optional<double> seconds) override;
  // As in BuildKit's view, Error's message is left to the final error summary (Print).
  void OnEnd(Vertex& v, VertexEnd how, std::string_view message, TimePoint now) override;
  void OnPrint(std::string_view line) override;

  void Loop();
  // All below: mu_ held.
  void AddTail(Vertex& v, std::string_view text);
  // Moves the cursor back over the drawn view and clears it ("" when nothing is drawn).
  std::string EraseView();
  void Draw(bool final);

  const int fd_;
  const std::chrono::milliseconds interval_;
  std::condition_variable wake_;
  int drawn_lines_ = 0;  // lines of the view on screen
  int frames_ = 0;
  unsigned tick_ = 0;
  bool cursor_hidden_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread refresher_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_TTY_H_
