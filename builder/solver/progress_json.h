// The `--progress json` writer: one JSON object per line (events in progress.h). The writer
// class is internal to progress_json.cc; create it through NewProgressWriter.
//
// Thread-safety: every method of the writer is thread-safe (VertexWriter's mutex; output is
// written under it).
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_JSON_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_JSON_H_

#include <functional>
#include <memory>
#include <string>

#include "builder/solver/progress.h"

namespace latchkey::build {

// A json writer to `fd` (not owned). `clock` must be callable. Event times are the wall clock
// at construction plus the `clock` time elapsed since.
std::unique_ptr<ProgressWriter> NewJsonProgressWriter(int fd, ProgressClock clock);

// Receives each event object, serialized on one line without its newline. Called with the
// writer's mutex held, so events arrive one at a time and in order.
using JsonEventSink = std::function<void(std::string line)>;

// A json writer handing each event to `sink` instead of writing a file descriptor (latchkeyd
// streams them to its client: docs/daemon.md). `clock` may be empty (steady_clock::now).
std::unique_ptr<ProgressWriter> NewJsonProgressWriter(JsonEventSink sink, ProgressClock clock);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_JSON_H_
