// JsonProgressWriter: the `--progress json` writer, one JSON object per line (events in
// progress.h). Create it through NewProgressWriter.
//
// Thread-safety: every method is thread-safe (VertexWriter's mutex; output is written under it).
#ifndef LATCHKEY_BUILDER_BUILD_PROGRESS_JSON_H_
#define LATCHKEY_BUILDER_BUILD_PROGRESS_JSON_H_

#include <chrono>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/build/progress.h"
#include "builder/build/progress_lines.h"
#include "builder/build/progress_vertex_writer.h"

namespace latchkey::build {

struct JsonVertex : VertexLines {};

class JsonProgressWriter final : public VertexWriter<JsonVertex> {
 public:
  // `fd` is not owned. `clock` must be callable. Event times are the wall clock at
  // construction plus the `clock` time elapsed since.
  JsonProgressWriter(int fd, ProgressClock clock);
  ~JsonProgressWriter() override;

  void Finish() override;

 private:
  using Vertex = JsonVertex;

  void OnStart(Vertex& v, std::string_view name) override;
  void OnLines(Vertex& v, executor::OutputStream stream, std::vector<OutputLine> lines,
               TimePoint now) override;
  void OnNote(Vertex& v, std::string_view text) override;
  void OnEnd(Vertex& v, VertexEnd how, std::string_view message, TimePoint now) override;
  void OnPrint(std::string_view line) override;

  // All below: mu_ held.
  // A new event object {"event":..., ["vertex":...]}; `vertex` 0 means none.
  nlohmann::ordered_json Event(std::string_view name, int vertex);
  // Adds "time" and writes the object as one line.
  void Emit(nlohmann::ordered_json event, TimePoint now);

  const int fd_;
  const std::chrono::system_clock::time_point wall_base_;
  const TimePoint steady_base_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_PROGRESS_JSON_H_
