// PlainProgressWriter: the `--progress plain` and `--progress quiet` writers (formats in
// progress.h). Create them through NewProgressWriter.
//
// Thread-safety: every method is thread-safe (one mutex; output is written under it).
#ifndef LATCHKEY_BUILDER_BUILD_PROGRESS_PLAIN_H_
#define LATCHKEY_BUILDER_BUILD_PROGRESS_PLAIN_H_

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "builder/build/progress.h"
#include "builder/build/progress_lines.h"

namespace latchkey::build {

class PlainProgressWriter final : public ProgressWriter {
 public:
  // `fd` is not owned. `quiet` selects the quiet format. `clock` must be callable.
  PlainProgressWriter(int fd, bool quiet, ProgressClock clock);
  ~PlainProgressWriter() override;

  int Start(std::string_view name) override;
  void Log(int vertex, executor::OutputStream stream, std::string_view chunk) override;
  void Note(int vertex, std::string_view text) override;
  void Cached(int vertex) override;
  void Done(int vertex) override;
  void Error(int vertex, std::string_view message) override;
  void Print(std::string_view line) override;
  void Finish() override;

 private:
  struct Vertex {
    int number = 0;
    std::string name;
    std::chrono::steady_clock::time_point start;
    LineSplitter out{kMaxLogLine};
    LineSplitter err{kMaxLogLine};
    std::deque<std::string> recent;  // last output lines as printed, without "#N "
    bool failed = false;
  };

  // All below: mu_ held.
  Vertex* Find(int vertex);
  // Writes `text` redacted.
  void Emit(std::string_view text);
  // Makes `v`'s block the open one, printing its header when it was not.
  void Open(Vertex& v);
  // Closes the open block, if any, with "#N ..." and a blank line.
  void CloseOpen();
  // Prints `lines` of v (redacted together) in v's block.
  void PrintLines(Vertex& v, std::vector<OutputLine> lines);
  void FlushLines(Vertex& v);
  // Flushes v's output, prints `last` (one line, newline included) in its block and a blank
  // line, and closes the block.
  void End(Vertex& v, const std::string& last);

  const int fd_;
  const bool quiet_;
  const ProgressClock clock_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Vertex>> vertices_;  // vertices_[n - 1] is vertex n
  int open_ = 0;                                   // the vertex whose block is open; 0: none
  bool finished_ = false;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_PROGRESS_PLAIN_H_
