// The runtime seam: what the executor asks of an OCI runtime, so that its logic (bundle and
// config assembly, secret mounts and their teardown, output redaction, cancellation, the
// runtime's error text) is tested without root through a fake (runtime_testutil.h). The real
// runtime is runc (runc_runtime.h).
//
// A container is started from a bundle the executor assembled (<bundle>/config.json, a FIFO the
// runtime reads once, and <bundle>/rootfs), runs in the foreground with its stdout and stderr on
// two pipes, is killed on cancellation, and the runtime's state of it is deleted in teardown.
#ifndef LATCHKEY_BUILDER_EXECUTOR_RUNTIME_H_
#define LATCHKEY_BUILDER_EXECUTOR_RUNTIME_H_

#include <cstddef>
#include <memory>
#include <string>

#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// Where one step's container lives; every path is on the step's bundle tmpfs.
struct ContainerRef {
  std::string id;          // "latchkey-<step id>"
  std::string bundle;      // config.json (a FIFO) and rootfs/
  std::string state_root;  // the runtime's state directory (runc --root)
  std::string log_path;    // the runtime's own log, JSON lines (runc --log --log-format json)
};

// A started container. Not thread-safe: used by the thread that started it.
class RunningContainer {
 public:
  virtual ~RunningContainer() = default;
  // Read ends of the container's stdout and stderr; both reach EOF when the container is gone.
  virtual int stdout_fd() const = 0;
  virtual int stderr_fd() const = 0;
  // Kills the container and every process in it (what it already wrote can still be read).
  // Idempotent.
  virtual void Kill() = 0;
  // Waits for the container to end: its exit status, 128 + signal when killed by a signal.
  // Call once, after both output streams reached EOF. Errors name the runtime.
  virtual Result<int> Wait() = 0;
};

// Thread-safety: Start and Delete may be called from several threads for different containers.
class Runtime {
 public:
  virtual ~Runtime() = default;
  // Creates and starts the container of `ref`. Fails when the runtime cannot be started
  // ("cannot start OCI runtime <name>: <OS error>"); a runtime that starts but fails to create
  // the container exits non-zero and says why in ref.log_path.
  virtual Result<std::unique_ptr<RunningContainer>> Start(const ContainerRef& ref) = 0;
  // Removes what the runtime keeps of the container of `ref` (state, cgroups) once it is no
  // longer running, if it kept anything. Best effort; never fails.
  virtual void Delete(const ContainerRef& ref) = 0;
};

// Streams `container`'s output through SecretRegistry::Global() redaction (RedactingStreams
// withholding max_pattern_len - 1 bytes) to `sink` until both streams end; a stream quiet for
// RedactingStream::kIdleFlushMillis after data is flushed (FlushIdle) and reported to
// `sink.Pause`, so a last line without a newline shows while the step runs; kills the container
// when the build is cancelled (cancel.h) meanwhile, then waits for it: its exit status.
// `sink` is called from this thread only.
Result<int> StreamUntilExit(RunningContainer& container, OutputSink& sink, size_t max_pattern_len);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_RUNTIME_H_
