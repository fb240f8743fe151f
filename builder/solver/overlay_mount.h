// OverlayMount: an overlayfs mount owned by a scope -- a writable one for a COPY step (the
// stage's layers below, the step's upper dir on top) or a read-only view of a stage's layers
// (a COPY --from or RUN --mount=from source). Unmounted on destruction.
//
// Mounted with redirect_dir=off, metacopy=off and index=off so that the upper dir holds a
// plain diff (renamed directories copied whole, no metadata-only copies) that the layer
// writer can turn into a tar. A writable one is also mounted with `volatile` when the kernel
// takes it (executor/overlay_volatile.h): the layer commit syncs the upper dir's filesystem once.
//
// Thread-safety: an OverlayMount is used by one thread.
#ifndef LATCHKEY_BUILDER_SOLVER_OVERLAY_MOUNT_H_
#define LATCHKEY_BUILDER_SOLVER_OVERLAY_MOUNT_H_

#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::build {

// The overlay mount options for these lower dirs (topmost first) and optional upper/work dirs.
std::string OverlayOptions(const std::vector<std::string>& lowers, const std::string& upper,
                           const std::string& work);

class OverlayMount {
 public:
  OverlayMount() = default;
  OverlayMount(OverlayMount&& o) noexcept : target_(std::move(o.target_)) { o.target_.clear(); }
  OverlayMount& operator=(OverlayMount&& o) noexcept;
  OverlayMount(const OverlayMount&) = delete;
  OverlayMount& operator=(const OverlayMount&) = delete;
  ~OverlayMount();

  // Mounts `lowers` (topmost first; at least one) with `upper` and `work` at `target` (all
  // existing directories; upper and work on one filesystem, work empty). Errors name the
  // target and the kernel's reason; an option string over the kernel's limit is
  // INVALID_ARGUMENT naming the layer count.
  static Result<OverlayMount> ReadWrite(const std::vector<std::string>& lowers,
                                        const std::string& upper, const std::string& work,
                                        const std::string& target);
  // A read-only view of `lowers` at `target`. `empty_dir` (an empty directory) pads the list
  // when it has fewer than the two lower dirs overlayfs needs without an upper dir.
  static Result<OverlayMount> ReadOnly(std::vector<std::string> lowers,
                                       const std::string& empty_dir, const std::string& target);

  const std::string& path() const { return target_; }
  // Unmounts now (idempotent); the destructor does it otherwise, ignoring errors.
  Status Unmount();

 private:
  explicit OverlayMount(std::string target) : target_(std::move(target)) {}
  std::string target_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_OVERLAY_MOUNT_H_
