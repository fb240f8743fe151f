// Runs the OCI runtime binary (runc) in the foreground with stdin from /dev/null and stdout and
// stderr on two pipes, streaming both through RedactingStreams (SecretRegistry::Global()) to an
// OutputSink as the bytes arrive.
//
// Thread-safety: one call per thread; the sink is called from the calling thread only.
#ifndef LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_
#define LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_

#include <functional>
#include <string>
#include <vector>

#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// Spawns argv (argv[0] looked up in PATH when it has no '/'), pumps its output, waits for it.
// Returns the exit status, or 128 + signal when it was killed by a signal. Fails when it cannot
// be started: "cannot start OCI runtime <argv0>: <OS error>".
// When the build is cancelled (cancel.h) while it runs, `on_cancel` is called -- and called
// again every 200 ms until the process's output closes (the container may not exist yet the
// first time) -- to make the process end; its output is still pumped until then.
Result<int> RunRuntimeProcess(const std::vector<std::string>& argv, OutputSink& sink,
                              size_t max_pattern_len, const std::function<void()>& on_cancel = {});

// Runs argv to completion with stdin, stdout and stderr on /dev/null; returns its exit status
// (128 + signal), or -1 when it could not be started. For helper commands such as `runc kill`.
int RunQuietly(const std::vector<std::string>& argv);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_RUNTIME_PROCESS_H_
