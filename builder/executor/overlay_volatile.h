// Writable overlay mounts with overlayfs's `volatile` option (Linux >= 5.10), as buildah and
// containerd's snapshotter mount theirs: the overlay then skips every sync of its upper
// filesystem (fsync, fdatasync, syncfs and the sync at unmount), so a step that fsyncs each file
// it writes (dpkg does, several times per package) costs what its writes cost. What a step wrote
// is made durable once, when the builder commits its upper dir as a layer: one syncfs(2) of the
// upper dir's own filesystem, which flushes the pages `volatile` left dirty (docs/image-store.md,
// "Durability").
//
// A volatile mount leaves <workdir>/work/incompat/volatile behind and the kernel refuses to
// mount that upper/work pair again until it is removed. The builder never mounts a pair twice (a
// step's upper dir becomes a layer, a lower dir from then on, or is deleted, and its work dir is
// always deleted); RunStep, whose callers may, removes the mark after a clean unmount
// (ClearVolatileMark): the kernel's "the system has not crashed and the upper dir is intact".
//
// Detection is done once per process (per VolatileSupport): the first writable overlay is
// mounted with `volatile`; when the kernel refuses that with EINVAL (an unknown option: older
// kernels) and the same mount without it succeeds, `volatile` is not tried again.
//
// Thread-safety: VolatileSupport is thread-safe; MountWritableOverlay is as thread-safe as its
// Mounter.
#ifndef LATCHKEY_BUILDER_EXECUTOR_OVERLAY_VOLATILE_H_
#define LATCHKEY_BUILDER_EXECUTOR_OVERLAY_VOLATILE_H_

#include <atomic>
#include <string>

#include "builder/executor/mounter.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// Whether this kernel's overlayfs takes `volatile`, as learnt from the mounts made so far.
class VolatileSupport {
 public:
  enum class State { kUnknown, kSupported, kUnsupported };
  State state() const { return state_.load(std::memory_order_relaxed); }
  void Set(State s) { state_.store(s, std::memory_order_relaxed); }

 private:
  std::atomic<State> state_{State::kUnknown};
};

// The process's VolatileSupport, shared by every writable overlay the builder mounts.
VolatileSupport& ProcessVolatileSupport();

// Mounts overlayfs at `target` with mount(2) `flags` and `options` (which must name an upperdir
// and workdir) through `mounter`, with ",volatile" appended unless `support` knows the kernel
// refuses it. Errors are the mounter's (for the mount without `volatile` when it was retried).
Status MountWritableOverlay(Mounter& mounter, const std::string& target, unsigned long flags,
                            const std::string& options,
                            VolatileSupport& support = ProcessVolatileSupport());

// Removes the mark a volatile mount left in `work_dir` (its work/incompat directory),
// so that the upper/work pair can be mounted again. Only after the overlay was unmounted
// cleanly by this process. Errors name the directory; a missing mark is not one.
Status ClearVolatileMark(const std::string& work_dir);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_OVERLAY_VOLATILE_H_
