// Runs the OCI runtime binary (runc) in the foreground with stdin from /dev/null and stdout and
// stderr on two pipes, streaming both through RedactingStreams (SecretRegistry::Global()) to an
// OutputSink as the bytes arrive.
//
// No container outlives its builder. The runtime is started as the init (PID 1) of a new PID
// namespace, in a new mount namespace (a copy of ours, propagation slave, with its own /proc),
// with PR_SET_PDEATHSIG = SIGKILL. The chain: the builder dies, however (SIGKILL included) ->
// the kernel kills the runtime -> the init of a PID namespace died, so the kernel kills every
// process in that namespace and in the namespaces nested in it: the container's processes.
// What stays is what a dead builder cannot clean by itself (mounts, the runtime's state and
// cgroups, temp dirs): state recovery (builder/solver/state_recovery.h) cleans it at the next
// start.
//
// A consequence: the runtime records the container's PIDs as its PID namespace numbers them,
// so a runtime command run from outside (`runc kill`, `runc state`) cannot reach the
// container's processes by PID; `runc delete --force` still removes the runtime's state and
// cgroups once they are gone. To stop the container, kill the runtime process (on cancel).
//
// Thread-safety: one call per thread; the sink is called from the calling thread only. The
// calling thread must stay alive until the call returns (the parent-death signal follows the
// thread that started the runtime).
#ifndef LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_
#define LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "builder/executor/runtime.h"
#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// The runtime process started as described above: its output pipes, SIGKILL, and reaping.
// Destroying one that was not waited for kills and reaps it.
class RuntimeProcess : public RunningContainer {
 public:
  // Starts argv (argv[0] looked up in PATH when it has no '/'). Fails when it cannot be
  // started: "cannot start OCI runtime <argv0>: <OS error>".
  static Result<std::unique_ptr<RuntimeProcess>> Start(const std::vector<std::string>& argv);
  ~RuntimeProcess() override;

  int stdout_fd() const override { return out_.get(); }
  int stderr_fd() const override { return err_.get(); }
  // SIGKILL to the runtime, the init of the container's PID namespace: the container dies too.
  void Kill() override;
  Result<int> Wait() override;

 private:
  RuntimeProcess(std::string name, pid_t pid, base::UniqueFd out, base::UniqueFd err)
      : name_(std::move(name)), pid_(pid), out_(std::move(out)), err_(std::move(err)) {}
  std::string name_;
  pid_t pid_;
  bool reaped_ = false;
  base::UniqueFd out_, err_;
};

// RuntimeProcess::Start, then StreamUntilExit (runtime.h): pumps its output, waits for it. Returns
// the exit status, or 128 + signal when it was killed by a signal. Fails when it cannot be started:
// "cannot start OCI runtime <argv0>: <OS error>". When the build is cancelled (cancel.h) while it
// runs, the runtime is killed (SIGKILL), which kills the container with it; its output is still
// pumped until the pipes close.
Result<int> RunRuntimeProcess(const std::vector<std::string>& argv, OutputSink& sink,
                              size_t max_pattern_len);

// Runs argv to completion with stdin, stdout and stderr on /dev/null; returns its exit status
// (128 + signal), or -1 when it could not be started. For helper commands such as
// `runc delete`.
int RunQuietly(const std::vector<std::string>& argv);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_
