// The `--progress plain` and `--progress quiet` writers (formats in progress.h). The writer
// class is internal to progress_plain.cc; create it through NewProgressWriter.
//
// Thread-safety: every method of the writer is thread-safe (VertexWriter's mutex; output is
// written under it).
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_PLAIN_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_PLAIN_H_

#include <memory>

#include "builder/solver/progress.h"

namespace latchkey::build {

// A plain writer to `fd` (not owned); `quiet` selects the quiet format. `clock` must be
// callable.
std::unique_ptr<ProgressWriter> NewPlainProgressWriter(int fd, bool quiet, ProgressClock clock);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_PLAIN_H_
