#include "builder/solver/progress_plain.h"

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/solver/progress_lines.h"
#include "builder/solver/progress_output.h"
#include "builder/solver/progress_vertex_writer.h"
#include "secure/redactor.h"

namespace latchkey::build {
namespace {

struct PlainVertex : VertexLines {
  std::string name;
  std::deque<std::string> recent;  // last output lines as printed, without "#N "
  bool failed = false;
};

class PlainProgressWriter final : public VertexWriter<PlainVertex> {
 public:
  PlainProgressWriter(int fd, bool quiet, ProgressClock clock)
      : VertexWriter(std::move(clock)), fd_(fd), quiet_(quiet) {}
  ~PlainProgressWriter() override { Finish(); }

  // Quiet: output is dropped before it is split into lines.
  void Log(int vertex, executor::OutputStream stream, std::string_view chunk) override {
    if (quiet_) return;
    VertexWriter::Log(vertex, stream, chunk);
  }

  void Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    FlushAll(clock_());
    if (finished_) return;
    finished_ = true;
    if (quiet_) return;
    for (auto& v : vertices_) {
      if (!v->failed) continue;
      CloseOpen();
      Emit(FormatErrorLogs(v->name, v->recent));
    }
  }

 private:
  void OnStart(PlainVertex& v, std::string_view name) override {
    v.name = std::string(name);
    if (!quiet_) Open(v);
  }

  // Prints `lines` of v (redacted together) in v's block.
  void OnLines(PlainVertex& v, executor::OutputStream /*stream*/, std::vector<OutputLine> lines,
               TimePoint /*now*/) override {
    if (quiet_ || lines.empty()) return;
    lines = RedactLines(SecretRegistry::Global(), std::move(lines));
    Open(v);
    const std::string prefix = "#" + std::to_string(v.number) + " ";
    const size_t keep_from = lines.size() > kErrorLogLines ? lines.size() - kErrorLogLines : 0;
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string entry = FormatLogElapsed(SecondsBetween(v.start, lines[i].at)) + " ";
      entry += lines[i].text;
      out += prefix;
      out += entry;
      out.push_back('\n');
      // Redacted again by Emit when the error summary prints it.
      if (i >= keep_from) KeepRecent(v.recent, std::move(entry));
    }
    Emit(out);  // one write per batch
  }

  void OnNote(PlainVertex& v, std::string_view text) override {
    if (quiet_) return;
    Open(v);
    std::string line = "#" + std::to_string(v.number) + " ";
    line.append(text);
    line.push_back('\n');
    Emit(line);
  }

  // "#N name" when a phase starts, "#N name 1.2s done" when it ends.
  void OnPhase(PlainVertex& v, std::string_view name, std::optional<double> seconds) override {
    std::string text(name);
    if (seconds) text += " " + FormatSeconds(*seconds, 1) + "s done";
    OnNote(v, text);
  }

  // Flushes v's output, prints its end line in its block and a blank line, and closes the
  // block. Quiet: only errors.
  void OnEnd(PlainVertex& v, VertexEnd how, std::string_view message, TimePoint now) override {
    std::string last = "#" + std::to_string(v.number);
    switch (how) {
      case VertexEnd::kCached:
        if (quiet_) return;
        last += " CACHED\n";
        break;
      case VertexEnd::kDone:
        if (quiet_) return;
        last += " DONE " + FormatSeconds(SecondsBetween(v.start, now), 1) + "s\n";
        break;
      case VertexEnd::kError:
        v.failed = true;
        last += " ERROR: " + std::string(message) + "\n";
        break;
    }
    FlushLines(v, now);
    Open(v);
    Emit(last + "\n");
    open_ = 0;
  }

  void OnPrint(std::string_view line) override {
    CloseOpen();
    std::string text(line);
    if (text.empty() || text.back() != '\n') text.push_back('\n');
    Emit(text);
  }

  // All below: mu_ held.
  // Writes `text` redacted.
  void Emit(std::string_view text) { WriteAll(fd_, SecretRegistry::Global().Redact(text)); }

  // Makes `v`'s block the open one, printing its header when it was not.
  void Open(PlainVertex& v) {
    if (open_ == v.number) return;
    CloseOpen();
    Emit("#" + std::to_string(v.number) + " " + v.name + "\n");
    open_ = v.number;
  }

  // Closes the open block, if any, with "#N ..." and a blank line.
  void CloseOpen() {
    if (open_ == 0) return;
    Emit("#" + std::to_string(open_) + " ...\n\n");
    open_ = 0;
  }

  const int fd_;
  const bool quiet_;
  int open_ = 0;  // the vertex whose block is open; 0: none
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<ProgressWriter> NewPlainProgressWriter(int fd, bool quiet, ProgressClock clock) {
  return std::make_unique<PlainProgressWriter>(fd, quiet, std::move(clock));
}

}  // namespace latchkey::build
