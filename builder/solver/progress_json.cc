#include "builder/solver/progress_json.h"

#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/solver/progress_lines.h"
#include "builder/solver/progress_output.h"
#include "builder/solver/progress_vertex_writer.h"
#include "secure/redactor.h"

namespace latchkey::build {
namespace {

double Millis(double seconds) { return std::round(seconds * 1000.0) / 1000.0; }

struct JsonVertex : VertexLines {};

class JsonProgressWriter final : public VertexWriter<JsonVertex> {
 public:
  JsonProgressWriter(JsonEventSink sink, ProgressClock clock)
      : VertexWriter(std::move(clock)),
        sink_(std::move(sink)),
        wall_base_(std::chrono::system_clock::now()),
        steady_base_(clock_()) {}
  ~JsonProgressWriter() override { Finish(); }

  void Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    FlushAll(clock_());
  }

 private:
  void OnStart(JsonVertex& v, std::string_view name) override {
    nlohmann::ordered_json event = Event("start", v.number);
    event["name"] = SecretRegistry::Global().Redact(name);
    Emit(std::move(event), v.start);
  }

  // One "log" event for `lines` of one stream (nothing when empty).
  void OnLines(JsonVertex& v, executor::OutputStream stream, std::vector<OutputLine> lines,
               TimePoint now) override {
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

  void OnNote(JsonVertex& v, std::string_view text) override {
    nlohmann::ordered_json event = Event("note", v.number);
    event["text"] = SecretRegistry::Global().Redact(text);
    Emit(std::move(event), clock_());
  }

  void OnPhase(JsonVertex& v, std::string_view name, std::optional<double> seconds) override {
    nlohmann::ordered_json event = Event(seconds ? "phase_done" : "phase", v.number);
    event["name"] = SecretRegistry::Global().Redact(name);
    if (seconds) event["duration"] = Millis(*seconds);
    Emit(std::move(event), clock_());
  }

  void OnEnd(JsonVertex& v, VertexEnd how, std::string_view message, TimePoint now) override {
    FlushLines(v, now);
    nlohmann::ordered_json event;
    switch (how) {
      case VertexEnd::kCached:
        event = Event("cached", v.number);
        break;
      case VertexEnd::kDone:
        event = Event("done", v.number);
        event["duration"] = Millis(SecondsBetween(v.start, now));
        break;
      case VertexEnd::kError:
        event = Event("error", v.number);
        event["error"] = SecretRegistry::Global().Redact(message);
        break;
    }
    Emit(std::move(event), now);
  }

  void OnPrint(std::string_view line) override {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    nlohmann::ordered_json event = Event("print", 0);
    event["data"] = SecretRegistry::Global().Redact(line);
    Emit(std::move(event), clock_());
  }

  // A new event object {"event":..., ["vertex":...]}; `vertex` 0 means none.
  static nlohmann::ordered_json Event(std::string_view name, int vertex) {
    nlohmann::ordered_json event;
    event["event"] = std::string(name);
    if (vertex != 0) event["vertex"] = vertex;
    return event;
  }

  // mu_ held: adds "time" and writes the object as one line.
  void Emit(nlohmann::ordered_json event, TimePoint now) {
    auto wall = wall_base_ +
                std::chrono::duration_cast<std::chrono::system_clock::duration>(now - steady_base_);
    event["time"] = FormatRfc3339Millis(wall);
    sink_(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  const JsonEventSink sink_;
  const std::chrono::system_clock::time_point wall_base_;
  const TimePoint steady_base_;
};

}  // namespace

std::unique_ptr<ProgressWriter> NewJsonProgressWriter(int fd, ProgressClock clock) {
  return NewJsonProgressWriter(
      [fd](std::string line) {
        line.push_back('\n');
        WriteAll(fd, line);
      },
      std::move(clock));
}

std::unique_ptr<ProgressWriter> NewJsonProgressWriter(JsonEventSink sink, ProgressClock clock) {
  if (!clock) clock = [] { return std::chrono::steady_clock::now(); };
  return std::make_unique<JsonProgressWriter>(std::move(sink), std::move(clock));
}

}  // namespace latchkey::build
