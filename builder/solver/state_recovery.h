// State recovery: cleans what builds that died (SIGKILL, a crash, a power cut) left in the
// builder's state directory. Called at every start of a command that uses the directory
// (`latchkey build`, `latchkey image ...`), before it does anything else there.
//
// A dead build can leave (docs/builder.md, "After a crash"):
//   - secrets/<id>/        a step's bundle tmpfs: config.json (env secrets), the secret
//                          tmpfs mounts secretN/ (secret files), the rootfs overlay, runc's state
//   - scratch/<id>/        the step's rw bind overlays and ssh sockets
//   - tmp/build-XXXXXX/    the build's temp dir: step upper dirs, mounted source views
//   - runc containers      runc state under secrets/<id>/runc (and their cgroups); the
//                          processes died with the builder (executor/runtime_process.h)
// Every such directory is owned through a lock file (image/owner_lock.h): secrets/<id>.lock for
// a step, tmp/<name>.lock for a build. Recovery touches only directories whose lock no live
// process holds, so builds running concurrently on the same state dir are left alone.
//
// For each dead step: `<runtime> --root secrets/<id>/runc delete --force <container>` for every
// container there; every mount under secrets/<id> and scratch/<id> is unmounted, deepest
// first, a tmpfs being overwritten with zeros first (WipeTree); then the directories are
// removed. For each dead build: the same for tmp/<name>.
//
// Thread-safety: safe to run in several processes at once (the locks decide who cleans what).
#ifndef LATCHKEY_BUILDER_SOLVER_STATE_RECOVERY_H_
#define LATCHKEY_BUILDER_SOLVER_STATE_RECOVERY_H_

#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::build {

// What recovery cleaned (absolute paths; container ids as runc names them).
struct RecoveryReport {
  std::vector<std::string> containers;  // deleted runc containers
  std::vector<std::string> mounts;      // unmounted mount points (tmpfs wiped first)
  std::vector<std::string> dirs;        // removed directories
  bool empty() const { return containers.empty() && mounts.empty() && dirs.empty(); }
};

// Recovers `state_dir` (see the file comment) with `runtime` (a path, or a name looked up in
// PATH) for `delete`. A state dir that does not exist yet is fine (nothing to do). Errors name
// the directory or mount that could not be cleaned; what was cleaned before stays in `report`.
Status RecoverState(const std::string& state_dir, const std::string& runtime,
                    RecoveryReport* report);

// The mount points at or below `dir` in this process's mount namespace
// (/proc/self/mountinfo, escapes decoded), deepest first, with their filesystem types.
struct MountPoint {
  std::string path;
  std::string fstype;
};
Result<std::vector<MountPoint>> MountsUnder(const std::string& dir);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_STATE_RECOVERY_H_
