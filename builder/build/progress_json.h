// JsonProgressWriter: the `--progress json` writer, one JSON object per line (events in
// progress.h). Create it through NewProgressWriter.
//
// Thread-safety: every method is thread-safe (one mutex; output is written under it).
#ifndef LATCHKEY_BUILDER_BUILD_PROGRESS_JSON_H_
#define LATCHKEY_BUILDER_BUILD_PROGRESS_JSON_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/build/progress.h"
#include "builder/build/progress_lines.h"

namespace latchkey::build {

class JsonProgressWriter final : public ProgressWriter {
 public:
  // `fd` is not owned. `clock` must be callable. Event times are the wall clock at
  // construction plus the `clock` time elapsed since.
  JsonProgressWriter(int fd, ProgressClock clock);
  ~JsonProgressWriter() override;

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
    std::chrono::steady_clock::time_point start;
    LineSplitter out{kMaxLogLine};
    LineSplitter err{kMaxLogLine};
  };

  // All below: mu_ held.
  Vertex* Find(int vertex);
  // A new event object {"event":..., ["vertex":...]}; `vertex` 0 means none.
  nlohmann::ordered_json Event(std::string_view name, int vertex);
  // Adds "time" and writes the object as one line.
  void Emit(nlohmann::ordered_json event, std::chrono::steady_clock::time_point now);
  // Emits one "log" event for `lines` of one stream (nothing when empty).
  void LogLines(Vertex& v, executor::OutputStream stream, std::vector<OutputLine> lines,
                std::chrono::steady_clock::time_point now);
  void FlushLines(Vertex& v, std::chrono::steady_clock::time_point now);

  const int fd_;
  const ProgressClock clock_;
  const std::chrono::system_clock::time_point wall_base_;
  const std::chrono::steady_clock::time_point steady_base_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Vertex>> vertices_;  // vertices_[n - 1] is vertex n
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_PROGRESS_JSON_H_
