#include "builder/solver/step_executor.h"

namespace latchkey::build {
namespace {

class RuncStepExecutorImpl : public StepExecutor {
 public:
  Result<executor::StepResult> Run(const executor::ExecutorOptions& options,
                                   const executor::StepSpec& spec,
                                   executor::SecretProvider& secrets,
                                   const executor::MountSources& sources,
                                   executor::OutputSink& sink) override {
    return executor::RunStep(options, spec, secrets, sources, sink);
  }
};

}  // namespace

StepExecutor& RuncStepExecutor() {
  static RuncStepExecutorImpl* impl = new RuncStepExecutorImpl();
  return *impl;
}

}  // namespace latchkey::build
