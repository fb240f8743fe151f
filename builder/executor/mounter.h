// The mount seam: the filesystems the executor mounts itself (the step's bundle tmpfs, the
// overlay root filesystem, one tmpfs per secret file, the overlays of read-write bind mounts),
// so that its logic is tested without root through a fake (runtime_testutil.h). The mounts
// inside the container (binds, tmpfs, /proc, ...) are made by the runtime from config.json.
//
// Thread-safety: implementations are thread-safe.
#ifndef LATCHKEY_BUILDER_EXECUTOR_MOUNTER_H_
#define LATCHKEY_BUILDER_EXECUTOR_MOUNTER_H_

#include <string>

#include "latchkey/status.h"

namespace latchkey::executor {

class Mounter {
 public:
  virtual ~Mounter() = default;
  // Mounts a new `fstype` ("tmpfs" or "overlay") filesystem on the existing directory `target`
  // with mount(2) `flags` and the option string `data`. Errors: "mount <fstype> on <target>:
  // <OS error>".
  virtual Status Mount(const std::string& fstype, const std::string& target, unsigned long flags,
                       const std::string& data) = 0;
  // Unmounts `target` (lazily when it is busy). What was mounted there is gone afterwards.
  virtual Status Unmount(const std::string& target) = 0;
};

// mount(2) and umount2(2) (sys_util.h's MountFs and Unmount). Lives as long as the process.
Mounter& SystemMounter();

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_MOUNTER_H_
