// Mount stubs: the empty files and directories the runtime creates as mountpoints for mount
// targets that do not exist in the root filesystem. BuildKit removes them after the step so
// they never reach the layer (executor/stubs.go MountStubsCleaner, recursive mode, moby#38667).
//
// Record() runs before the step on the merged overlay view: for each target (resolved inside
// the root), the target and each missing parent are recorded, together with the nearest
// existing ancestor and that ancestor's atime/mtime. Remove() runs after the step, still on the
// merged view: each recorded path, deepest first and re-resolved inside the root, is removed
// only when it is an empty directory or a zero-size regular file; the ancestor's times are then
// restored to their pre-step values. PruneCopiedUpDirs() runs after the overlay is unmounted:
// an ancestor that overlayfs copied up only because a stub was created in it, and that is now
// an empty, non-opaque directory identical (mode, owner, mtime) to its lower copy, is removed
// from the upper directory, walking up; the layer then holds only what the command wrote.
//
// Thread-safety: a MountStubs is used by one thread.
#ifndef LATCHKEY_BUILDER_EXECUTOR_MOUNT_STUBS_H_
#define LATCHKEY_BUILDER_EXECUTOR_MOUNT_STUBS_H_

#include <sys/stat.h>

#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::executor {

class MountStubs {
 public:
  // `targets` are resolved container paths (ResolveInRoot). Only I/O errors fail.
  static Result<MountStubs> Record(int root_fd, const std::vector<std::string>& targets);

  // Removes the stubs that are still empty; restores ancestors' times. Best effort per path
  // (a path that cannot be removed stays); fails only when the root cannot be opened.
  Status Remove(int root_fd);

  // The recorded stub paths, deepest first.
  const std::vector<std::string>& stubs() const { return stubs_; }
  // Existing ancestors whose stubs were all removed (candidates for PruneCopiedUpDirs).
  const std::vector<std::string>& restored_ancestors() const { return restored_; }

 private:
  struct Ancestor {
    std::string path;
    struct timespec times[2];
    std::vector<std::string> children;  // recorded stubs directly inside it
  };
  std::vector<std::string> stubs_;
  std::vector<Ancestor> ancestors_;
  std::vector<std::string> restored_;
};

// See the file comment. `upper_dir` and `lower_dirs` (topmost first) are host paths;
// `dirs` are container paths. Best effort; fails only when upper_dir cannot be opened.
Status PruneCopiedUpDirs(const std::string& upper_dir, const std::vector<std::string>& lower_dirs,
                         const std::vector<std::string>& dirs);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_MOUNT_STUBS_H_
