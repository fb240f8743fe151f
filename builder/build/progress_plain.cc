#include "builder/build/progress_plain.h"

#include <utility>

#include "builder/build/progress_output.h"
#include "secure/redactor.h"

namespace latchkey::build {

PlainProgressWriter::PlainProgressWriter(int fd, bool quiet, ProgressClock clock)
    : fd_(fd), quiet_(quiet), clock_(std::move(clock)) {}

PlainProgressWriter::~PlainProgressWriter() { Finish(); }

PlainProgressWriter::Vertex* PlainProgressWriter::Find(int vertex) {
  if (vertex < 1 || static_cast<size_t>(vertex) > vertices_.size()) return nullptr;
  return vertices_[vertex - 1].get();
}

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

void PlainProgressWriter::PrintLines(Vertex& v, std::vector<OutputLine> lines) {
  if (lines.empty()) return;
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

void PlainProgressWriter::FlushLines(Vertex& v) {
  if (quiet_) return;
  PrintLines(v, v.out.Flush());
  PrintLines(v, v.err.Flush());
}

void PlainProgressWriter::End(Vertex& v, const std::string& last) {
  FlushLines(v);
  Open(v);
  Emit(last + "\n");
  open_ = 0;
}

int PlainProgressWriter::Start(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto v = std::make_unique<Vertex>();
  v->number = static_cast<int>(vertices_.size()) + 1;
  v->name = std::string(name);
  v->start = clock_();
  vertices_.push_back(std::move(v));
  Vertex& ref = *vertices_.back();
  if (!quiet_) Open(ref);
  return ref.number;
}

void PlainProgressWriter::Log(int vertex, executor::OutputStream stream, std::string_view chunk) {
  if (quiet_ || chunk.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  LineSplitter& splitter = stream == executor::OutputStream::kStdout ? v->out : v->err;
  PrintLines(*v, splitter.Feed(chunk, clock_()));
}

void PlainProgressWriter::Note(int vertex, std::string_view text) {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  Open(*v);
  std::string line = "#" + std::to_string(v->number) + " ";
  line.append(text);
  line.push_back('\n');
  Emit(line);
}

void PlainProgressWriter::Cached(int vertex) {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  End(*v, "#" + std::to_string(v->number) + " CACHED\n");
}

void PlainProgressWriter::Done(int vertex) {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  double took = SecondsBetween(v->start, clock_());
  End(*v, "#" + std::to_string(v->number) + " DONE " + FormatSeconds(took, 1) + "s\n");
}

void PlainProgressWriter::Error(int vertex, std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  v->failed = true;
  End(*v, "#" + std::to_string(v->number) + " ERROR: " + std::string(message) + "\n");
}

void PlainProgressWriter::Print(std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  CloseOpen();
  std::string text(line);
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  Emit(text);
}

void PlainProgressWriter::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& v : vertices_) FlushLines(*v);
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
