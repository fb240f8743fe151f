// RunStep: runs one Dockerfile RUN step as an OCI bundle under runc, with BuildKit's mount
// semantics (secret, ssh, cache, bind, tmpfs) and mount-stub cleanup. See docs/executor.md.
//
// What happens, in order:
//   1. A private per-step tmpfs (nodev, nosuid, noexec, 0700) is mounted at
//      <state>/secrets/<step id>; it is the bundle directory (config.json, /etc/hosts and
//      /etc/resolv.conf copies, runc's --root state and log) so that nothing of the step is
//      written to a disk. config.json is a FIFO fed while runc reads it (config_feeder.h), so
//      env secrets are never in a file at all.
//   2. overlayfs (lowerdir=lower_dirs, upperdir, workdir) is mounted at <bundle>/rootfs, with
//      `volatile` where the kernel takes it (overlay_volatile.h): the step's fsyncs are no-ops;
//      the caller makes the upper dir durable when it keeps it (one syncfs).
//   3. USER is resolved in the rootfs, WORKDIR is created (root:root 0755) when missing.
//   4. Mounts are prepared: secrets are fetched now (never earlier); each secret file lives on
//      its own small tmpfs (nodev, nosuid, + noexec unless mode has an x bit) and is
//      bind-mounted read-only at its target; env secrets go into the process env only.
//      Targets are resolved inside the root (a symlink in the image never reaches the host).
//      Each ssh mount's agent is checked (AgentDialer::Check) and its use recorded
//      (SecretProvider::RecordSshUse: the ssh.forward audit record) before its forwarding
//      socket is made.
//   5. Missing mount targets (and missing parents) are recorded as mount stubs.
//   6. The container `latchkey-<id>` is started from the bundle by the Runtime (runtime.h; runc:
//      `runc --root <bundle>/runc --log <bundle>/runc.log run --bundle <bundle> <id>` in the
//      foreground, as the init of its own PID namespace with a parent-death signal, so the
//      container dies with the builder: runc_runtime.h, runtime_process.h); stdout/stderr go
//      through SecretRegistry::Global() redaction to the sink; a cancelled build kills it.
//   7. Teardown (always, also on errors): ssh forwarders stop, stubs are removed, secret
//      tmpfs files are overwritten with zeros and unmounted, the runtime's state of a started
//      container is deleted, the overlay is unmounted, copied-up
//      empty parents are pruned from the upper dir, the bundle tmpfs is wiped and unmounted.
// After RunStep returns, spec.upper_dir holds exactly the step's filesystem diff.
//
// Thread-safety: RunStep may run concurrently for different steps (distinct upper/work dirs);
// cache mounts coordinate through flock (cache_dirs.h).
#ifndef LATCHKEY_BUILDER_EXECUTOR_EXECUTOR_H_
#define LATCHKEY_BUILDER_EXECUTOR_EXECUTOR_H_

#include <string>

#include "builder/executor/mounter.h"
#include "builder/executor/overlay_volatile.h"
#include "builder/executor/runtime.h"
#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::executor {

struct ExecutorOptions {
  // The builder's state directory (created 0700 when missing). Holds secrets/ (0700; per-step
  // tmpfs mountpoints and the steps' owner locks <id>.lock, empty between steps), cache/ (cache
  // mounts) and scratch/ (per-step throwaway data: rw bind overlays, ssh forwarding sockets;
  // removed after each step). What a killed process leaves there is cleaned by
  // build::RecoverState (builder/solver/state_recovery.h).
  std::string state_dir;
  // The OCI runtime binary: a path, or a name looked up in PATH.
  std::string runtime = "runc";
  // The side effects (not owned; must outlive RunStep). null: runc (RuncRuntime(runtime),
  // runc_runtime.h) and mount(2) (SystemMounter(), mounter.h). Tests pass fakes
  // (runtime_testutil.h).
  Runtime* container_runtime = nullptr;
  Mounter* mounter = nullptr;
  // Whether the step's writable overlays (its root filesystem, read-write bind mounts) get
  // `volatile` (overlay_volatile.h; not owned). null: ProcessVolatileSupport().
  VolatileSupport* overlay_volatile = nullptr;
};

// Runs the step. Returns the process's exit code in StepResult (non-zero is not an error here:
// the caller renders FormatProcessFailure). Errors, exact where user-facing:
//   secret <id>: not found                        (required secret missing; or the
//                                                  provider's NOT_FOUND message as is)
//   no SSH key "<id>" forwarded from the client   (required ssh mount, no agent for id)
//   RecordSshUse's error, unchanged               (the use of an agent could not be recorded,
//                                                  e.g. UNAVAILABLE from the audit log; the
//                                                  agent is not forwarded)
//   <type> target <t> is not allowed: /proc and /sys are managed by the runtime
//   <type> target <t> is not allowed: it resolves to <r> inside the root filesystem; /proc
//     and /sys are managed by the runtime
//   unable to find user <name>: no matching entries in passwd file
//   unable to find group <group>: no matching entries in group file
//   secret <id> cannot be exposed as environment variable <NAME>: ... (oci_config.h)
//   bind mount source "<src>" does not exist in <the build context | "<from>">
//   bind mount from "<from>" is not available to the executor
//   bind mount needs the build context, but none is available
//   cache mount from="<from>" is not supported: drop from= (the cache starts empty)
//   runc run failed: <runc's error message>       (the runtime could not start the process;
//                                                  runc's own leading "runc run failed: " is
//                                                  not repeated)
//   invalid step: <what>                          (empty args, no lower dirs, ...)
//   build cancelled                               (CANCELLED: cancel.h; the container was
//                                                  killed, teardown still ran)
Result<StepResult> RunStep(const ExecutorOptions& options, const StepSpec& spec,
                           SecretProvider& secrets, const MountSources& sources, OutputSink& sink);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_EXECUTOR_H_
