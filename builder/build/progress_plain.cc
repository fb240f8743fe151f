#include "builder/build/progress_plain.h"

#include <utility>

#include "broker/redactor.h"
#include "builder/build/progress_output.h"

namespace latchkey::build {

PlainProgressWriter::PlainProgressWriter(int fd, bool quiet, ProgressClock clock)
    : VertexWriter(std::move(clock)), fd_(fd), quiet_(quiet) {}

PlainProgressWriter::~PlainProgressWriter() { Finish(); }

void PlainProgressWriter::Emit(std::string_view text) {
  WriteAll(fd_, SecretRegistry::Global().Redact(text));
}

void PlainProgressWriter::Open(Vertex& v) {
  if (open_ == v.number) return;
  CloseOpen();
  Emit("#" + std::to_string(v.number) + " " + v.name + "\n");
  open_ = v.number;
}

void PlainProgressWriter::CloseOpen() {
  if (open_ == 0) return;
  Emit("#" + std::to_string(open_) + " ...\n\n");
  open_ = 0;
}

void PlainProgressWriter::OnStart(Vertex& v, std::string_view name) {
  v.name = std::string(name);
  if (!quiet_) Open(v);
}

void PlainProgressWriter::Log(int vertex, executor::OutputStream stream, std::string_view chunk) {
  if (quiet_) return;
  VertexWriter::Log(vertex, stream, chunk);
}

void PlainProgressWriter::OnLines(Vertex& v, executor::OutputStream /*stream*/,
                                  std::vector<OutputLine> lines, TimePoint /*now*/) {
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

void PlainProgressWriter::OnNote(Vertex& v, std::string_view text) {
  if (quiet_) return;
  Open(v);
  std::string line = "#" + std::to_string(v.number) + " ";
  line.append(text);
  line.push_back('\n');
  Emit(line);
}

void PlainProgressWriter::OnEnd(Vertex& v, VertexEnd how, std::string_view message, TimePoint now) {
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

void PlainProgressWriter::OnPrint(std::string_view line) {
  CloseOpen();
  std::string text(line);
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  Emit(text);
}

void PlainProgressWriter::Finish() {
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

}  // namespace latchkey::build
