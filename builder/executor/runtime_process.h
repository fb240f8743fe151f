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
// cgroups, temp dirs): state recovery (builder/build/state_recovery.h) cleans it at the next
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

#include <string>
#include <vector>

#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// Starts argv (argv[0] looked up in PATH when it has no '/') as described above, pumps its
// output, waits for it. Returns the exit status, or 128 + signal when it was killed by a
// signal. Fails when it cannot be started: "cannot start OCI runtime <argv0>: <OS error>".
// When the build is cancelled (cancel.h) while it runs, the runtime is killed (SIGKILL), which
// kills the container with it; its output is still pumped until the pipes close.
Result<int> RunRuntimeProcess(const std::vector<std::string>& argv, OutputSink& sink,
                              size_t max_pattern_len);

// Runs argv to completion with stdin, stdout and stderr on /dev/null; returns its exit status
// (128 + signal), or -1 when it could not be started. For helper commands such as
// `runc delete`.
int RunQuietly(const std::vector<std::string>& argv);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_
