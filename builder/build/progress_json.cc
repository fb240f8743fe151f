#include "builder/build/progress_json.h"

#include <cmath>
#include <utility>

#include "builder/build/progress_output.h"
#include "secure/redactor.h"

namespace latchkey::build {
namespace {

double Millis(double seconds) { return std::round(seconds * 1000.0) / 1000.0; }

}  // namespace

JsonProgressWriter::JsonProgressWriter(int fd, ProgressClock clock)
    : fd_(fd),
      clock_(std::move(clock)),
      wall_base_(std::chrono::system_clock::now()),
      steady_base_(clock_()) {}

JsonProgressWriter::~JsonProgressWriter() { Finish(); }

JsonProgressWriter::Vertex* JsonProgressWriter::Find(int vertex) {
  if (vertex < 1 || static_cast<size_t>(vertex) > vertices_.size()) return nullptr;
  return vertices_[vertex - 1].get();
}

nlohmann::ordered_json JsonProgressWriter::Event(std::string_view name, int vertex) {
  nlohmann::ordered_json event;
  event["event"] = std::string(name);
  if (vertex != 0) event["vertex"] = vertex;
  return event;
}

void JsonProgressWriter::Emit(nlohmann::ordered_json event,
                              std::chrono::steady_clock::time_point now) {
  auto wall = wall_base_ +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(now - steady_base_);
  event["time"] = FormatRfc3339Millis(wall);
  std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  WriteAll(fd_, line);
}

void JsonProgressWriter::LogLines(Vertex& v, executor::OutputStream stream,
                                  std::vector<OutputLine> lines,
                                  std::chrono::steady_clock::time_point now) {
  if (lines.empty()) return;
  auto first_at = lines.front().at;
  // Redacted before JSON escaping, which could change a value's bytes.
  std::string data;
  for (const OutputLine& line : RedactLines(SecretRegistry::Global(), std::move(lines))) {
    data += line.text;
    if (line.complete) data.push_back('\n');
  }
  nlohmann::ordered_json event = Event("log", v.number);
  event["stream"] = stream == executor::OutputStream::kStdout ? "stdout" : "stderr";
  event["elapsed"] = Millis(SecondsBetween(v.start, first_at));
  event["data"] = std::move(data);
  Emit(std::move(event), now);
}

void JsonProgressWriter::FlushLines(Vertex& v, std::chrono::steady_clock::time_point now) {
  LogLines(v, executor::OutputStream::kStdout, v.out.Flush(), now);
  LogLines(v, executor::OutputStream::kStderr, v.err.Flush(), now);
}

int JsonProgressWriter::Start(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto v = std::make_unique<Vertex>();
  v->number = static_cast<int>(vertices_.size()) + 1;
  v->start = clock_();
  vertices_.push_back(std::move(v));
  Vertex& ref = *vertices_.back();
  nlohmann::ordered_json event = Event("start", ref.number);
  event["name"] = SecretRegistry::Global().Redact(name);
  Emit(std::move(event), ref.start);
  return ref.number;
}

void JsonProgressWriter::Log(int vertex, executor::OutputStream stream, std::string_view chunk) {
  if (chunk.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  LineSplitter& splitter = stream == executor::OutputStream::kStdout ? v->out : v->err;
  auto now = clock_();
  LogLines(*v, stream, splitter.Feed(chunk, now), now);
}

void JsonProgressWriter::Note(int vertex, std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  nlohmann::ordered_json event = Event("note", v->number);
  event["text"] = SecretRegistry::Global().Redact(text);
  Emit(std::move(event), clock_());
}

void JsonProgressWriter::Cached(int vertex) {
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  auto now = clock_();
  FlushLines(*v, now);
  Emit(Event("cached", v->number), now);
}

void JsonProgressWriter::Done(int vertex) {
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  auto now = clock_();
  FlushLines(*v, now);
  nlohmann::ordered_json event = Event("done", v->number);
  event["duration"] = Millis(SecondsBetween(v->start, now));
  Emit(std::move(event), now);
}

void JsonProgressWriter::Error(int vertex, std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  Vertex* v = Find(vertex);
  if (v == nullptr) return;
  auto now = clock_();
  FlushLines(*v, now);
  nlohmann::ordered_json event = Event("error", v->number);
  event["error"] = SecretRegistry::Global().Redact(message);
  Emit(std::move(event), now);
}

void JsonProgressWriter::Print(std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  nlohmann::ordered_json event = Event("print", 0);
  event["data"] = SecretRegistry::Global().Redact(line);
  Emit(std::move(event), clock_());
}

void JsonProgressWriter::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = clock_();
  for (auto& v : vertices_) FlushLines(*v, now);
}

}  // namespace latchkey::build
