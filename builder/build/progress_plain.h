// PlainProgressWriter: the `--progress plain` and `--progress quiet` writers (formats in
// progress.h). Create them through NewProgressWriter.
//
// Thread-safety: every method is thread-safe (VertexWriter's mutex; output is written under it).
#ifndef LATCHKEY_BUILDER_BUILD_PROGRESS_PLAIN_H_
#define LATCHKEY_BUILDER_BUILD_PROGRESS_PLAIN_H_

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "builder/build/progress.h"
#include "builder/build/progress_lines.h"
#include "builder/build/progress_vertex_writer.h"

namespace latchkey::build {

struct PlainVertex : VertexLines {
  std::string name;
  std::deque<std::string> recent;  // last output lines as printed, without "#N "
  bool failed = false;
};

class PlainProgressWriter final : public VertexWriter<PlainVertex> {
 public:
  // `fd` is not owned. `quiet` selects the quiet format. `clock` must be callable.
  PlainProgressWriter(int fd, bool quiet, ProgressClock clock);
  ~PlainProgressWriter() override;

  // Quiet: output is dropped before it is split into lines.
  void Log(int vertex, executor::OutputStream stream, std::string_view chunk) override;
  void Finish() override;

 private:
  using Vertex = PlainVertex;

  void OnStart(Vertex& v, std::string_view name) override;
  // Prints `lines` of v (redacted together) in v's block.
  void OnLines(Vertex& v, executor::OutputStream stream, std::vector<OutputLine> lines,
               TimePoint now) override;
  void OnNote(Vertex& v, std::string_view text) override;
  // Flushes v's output, prints the end line in its block and a blank line, and closes the block.
  void OnEnd(Vertex& v, VertexEnd how, std::string_view message, TimePoint now) override;
  void OnPrint(std::string_view line) override;

  // All below: mu_ held.
  // Writes `text` redacted.
  void Emit(std::string_view text);
  // Makes `v`'s block the open one, printing its header when it was not.
  void Open(Vertex& v);
  // Closes the open block, if any, with "#N ..." and a blank line.
  void CloseOpen();

  const int fd_;
  const bool quiet_;
  int open_ = 0;  // the vertex whose block is open; 0: none
  bool finished_ = false;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_PROGRESS_PLAIN_H_
