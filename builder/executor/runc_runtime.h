// The real Runtime (runtime.h): runc, started as runtime_process.h describes (the init of its
// own PID namespace, dying with the builder), as
//   <binary> --root <state_root> --log <log_path> --log-format json run --bundle <bundle> <id>
// and `<binary> --root <state_root> delete --force <id>` to remove what a killed runc left.
//
// Thread-safety: thread-safe (no state beyond the binary's name).
#ifndef LATCHKEY_BUILDER_EXECUTOR_RUNC_RUNTIME_H_
#define LATCHKEY_BUILDER_EXECUTOR_RUNC_RUNTIME_H_

#include <memory>
#include <string>

#include "builder/executor/runtime.h"

namespace latchkey::executor {

class RuncRuntime : public Runtime {
 public:
  // `binary`: a path, or a name looked up in PATH.
  explicit RuncRuntime(std::string binary) : binary_(std::move(binary)) {}
  Result<std::unique_ptr<RunningContainer>> Start(const ContainerRef& ref) override;
  // Runs `runc delete --force` when runc kept state for the container (<state_root>/<id>).
  void Delete(const ContainerRef& ref) override;

 private:
  std::string binary_;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_RUNC_RUNTIME_H_
