// The executor's view of a RUN step's --mount flags: the frontend's MountSpecs (after
// frontend::ExpandMounts, BuildKit's defaults applied) converted to executor::StepMounts, with
// each target made absolute against the step's WORKDIR (frontend::ResolveTarget) and each
// unwritten mode replaced by its type's default. Names only: no secret value is involved.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_SOLVER_STEP_MOUNTS_H_
#define LATCHKEY_BUILDER_SOLVER_STEP_MOUNTS_H_

#include <string_view>
#include <vector>

#include "builder/executor/mount_spec.h"
#include "builder/frontend/mount_flags.h"

namespace latchkey::build {

// One mount. `workdir` is the step's working directory ("" = "/").
executor::StepMount ToStepMount(const frontend::MountSpec& spec, std::string_view workdir);

// Each mount, in order.
std::vector<executor::StepMount> ToStepMounts(const std::vector<frontend::MountSpec>& specs,
                                              std::string_view workdir);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_STEP_MOUNTS_H_
