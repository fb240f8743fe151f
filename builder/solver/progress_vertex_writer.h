// VertexWriter: what the plain, tty and json progress writers share. It owns the vertices
// (numbered 1, 2, ... in Start order, each with a LineSplitter per output stream) and one
// mutex, implements the ProgressWriter calls by taking the mutex, finding the vertex (calls
// naming an unknown vertex are ignored), splitting output into lines (a LogPause flushes the
// partial line but what could begin a secret) and timing phases, and leaves what is printed to
// the hooks of the writer deriving from it. Each writer implements Finish itself.
//
// Thread-safety: every ProgressWriter call holds mu_ while it runs a hook, so hooks run one at
// a time and may use the writer's state freely.
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_VERTEX_WRITER_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_VERTEX_WRITER_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/solver/progress.h"
#include "builder/solver/progress_lines.h"
#include "builder/solver/progress_output.h"
#include "secure/redactor.h"

namespace latchkey::build {

// The part of a vertex every writer keeps; a writer's vertex type derives from it.
struct VertexLines {
  int number = 0;
  std::chrono::steady_clock::time_point start;
  LineSplitter out{kMaxLogLine};
  LineSplitter err{kMaxLogLine};
  // Phases started and not done yet: name and start time.
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> phases;

  LineSplitter& splitter(executor::OutputStream stream) {
    return stream == executor::OutputStream::kStdout ? out : err;
  }
};

// How a vertex ended: ProgressWriter::Cached, Done or Error.
enum class VertexEnd { kCached, kDone, kError };

template <typename V>  // V derives from VertexLines
class VertexWriter : public ProgressWriter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  int Start(std::string_view name) final {
    std::lock_guard<std::mutex> lock(mu_);
    auto v = std::make_unique<V>();
    v->number = static_cast<int>(vertices_.size()) + 1;
    v->start = clock_();
    vertices_.push_back(std::move(v));
    OnStart(*vertices_.back(), name);
    return vertices_.back()->number;
  }
  void Log(int vertex, executor::OutputStream stream, std::string_view chunk) override {
    if (chunk.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    V* v = Find(vertex);
    if (v == nullptr) return;
    TimePoint now = clock_();
    OnLines(*v, stream, v->splitter(stream).Feed(chunk, now), now);
  }
  void LogPause(int vertex, executor::OutputStream stream) final {
    std::lock_guard<std::mutex> lock(mu_);
    V* v = Find(vertex);
    if (v == nullptr) return;
    LineSplitter& split = v->splitter(stream);
    if (!split.has_partial()) return;
    size_t keep = SecretRegistry::Global().PartialMatchLength(split.partial());
    OnLines(*v, stream, split.FlushKeeping(keep), clock_());
  }
  void Note(int vertex, std::string_view text) final {
    std::lock_guard<std::mutex> lock(mu_);
    if (V* v = Find(vertex)) OnNote(*v, text);
  }
  void PhaseStart(int vertex, std::string_view name) final {
    std::lock_guard<std::mutex> lock(mu_);
    V* v = Find(vertex);
    if (v == nullptr) return;
    v->phases.emplace_back(std::string(name), clock_());
    OnPhase(*v, name, std::nullopt);
  }
  void PhaseDone(int vertex, std::string_view name) final {
    std::lock_guard<std::mutex> lock(mu_);
    V* v = Find(vertex);
    if (v == nullptr) return;
    TimePoint now = clock_();
    double seconds = 0;
    for (auto it = v->phases.begin(); it != v->phases.end(); ++it) {
      if (it->first != name) continue;
      seconds = SecondsBetween(it->second, now);
      v->phases.erase(it);
      break;
    }
    OnPhase(*v, name, seconds);
  }
  void Cached(int vertex) final { End(vertex, VertexEnd::kCached, {}); }
  void Done(int vertex) final { End(vertex, VertexEnd::kDone, {}); }
  void Error(int vertex, std::string_view message) final {
    End(vertex, VertexEnd::kError, message);
  }
  void Print(std::string_view line) final {
    std::lock_guard<std::mutex> lock(mu_);
    OnPrint(line);
  }

 protected:
  // `clock` must be callable.
  explicit VertexWriter(ProgressClock clock) : clock_(std::move(clock)) {}

  // The hooks, each called with mu_ held. `v` was just added (its number and start set).
  virtual void OnStart(V& v, std::string_view name) = 0;
  // Lines of one stream of `v` that a Log call completed, or that FlushLines flushed; `now`
  // is the time of that call. May be empty.
  virtual void OnLines(V& v, executor::OutputStream stream, std::vector<OutputLine> lines,
                       TimePoint now) = 0;
  virtual void OnNote(V& v, std::string_view text) = 0;
  // A phase of `v` started (`seconds` empty) or ended after `seconds`.
  virtual void OnPhase(V& v, std::string_view name, std::optional<double> seconds) = 0;
  // `message` is Error's ("" for the others). The hook flushes v's lines (FlushLines) itself.
  virtual void OnEnd(V& v, VertexEnd how, std::string_view message, TimePoint now) = 0;
  virtual void OnPrint(std::string_view line) = 0;

  // mu_ held: hands v's partial lines, stdout's then stderr's, to OnLines.
  void FlushLines(V& v, TimePoint now) {
    OnLines(v, executor::OutputStream::kStdout, v.out.Flush(), now);
    OnLines(v, executor::OutputStream::kStderr, v.err.Flush(), now);
  }
  // mu_ held: FlushLines for every vertex.
  void FlushAll(TimePoint now) {
    for (auto& v : vertices_) FlushLines(*v, now);
  }

  const ProgressClock clock_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<V>> vertices_;  // vertices_[n - 1] is vertex n

 private:
  V* Find(int vertex) {
    if (vertex < 1 || static_cast<size_t>(vertex) > vertices_.size()) return nullptr;
    return vertices_[vertex - 1].get();
  }
  void End(int vertex, VertexEnd how, std::string_view message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (V* v = Find(vertex)) OnEnd(*v, how, message, clock_());
  }
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_VERTEX_WRITER_H_
