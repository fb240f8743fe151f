// The builder's seam to the executor: BuildRun runs every RUN step through a StepExecutor
// (BuildRequest::executor), so that the builder's RUN path (the step spec and mounts it builds,
// the error it makes of a failed step, cache hits that run nothing, cancellation) is tested
// with a fake (step_executor_testutil.h). The real one is executor::RunStep under runc.
//
// Thread-safety: implementations may be called from several builds at once.
#ifndef LATCHKEY_BUILDER_SOLVER_STEP_EXECUTOR_H_
#define LATCHKEY_BUILDER_SOLVER_STEP_EXECUTOR_H_

#include "builder/executor/executor.h"
#include "latchkey/status.h"

namespace latchkey::build {

class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  // Runs one RUN step, with executor::RunStep's contract (executor.h): a non-zero exit is a
  // StepResult, not an error.
  virtual Result<executor::StepResult> Run(const executor::ExecutorOptions& options,
                                           const executor::StepSpec& spec,
                                           executor::SecretProvider& secrets,
                                           const executor::MountSources& sources,
                                           executor::OutputSink& sink) = 0;
};

// executor::RunStep. Lives as long as the process.
StepExecutor& RuncStepExecutor();

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_STEP_EXECUTOR_H_
