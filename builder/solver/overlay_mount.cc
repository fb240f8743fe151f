#include "builder/solver/overlay_mount.h"

#include <sys/mount.h>

#include "builder/executor/mounter.h"
#include "builder/executor/overlay_volatile.h"
#include "builder/executor/sys_util.h"

namespace latchkey::build {

// The kernel copies mount data into one page; longer option strings fail with EINVAL.
constexpr size_t kMaxOverlayOptions = 4000;

std::string OverlayOptions(const std::vector<std::string>& lowers, const std::string& upper,
                           const std::string& work) {
  std::string opts = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) opts += (i ? ":" : "") + lowers[i];
  if (!upper.empty()) opts += ",upperdir=" + upper + ",workdir=" + work;
  return opts + ",redirect_dir=off,metacopy=off,index=off";
}

OverlayMount& OverlayMount::operator=(OverlayMount&& o) noexcept {
  if (this != &o) {
    (void)Unmount();
    target_ = std::move(o.target_);
    o.target_.clear();
  }
  return *this;
}

OverlayMount::~OverlayMount() { (void)Unmount(); }

Status OverlayMount::Unmount() {
  if (target_.empty()) return Status::OK();
  std::string t = std::move(target_);
  target_.clear();
  return executor::Unmount(t);
}

namespace {

Status Mount(const std::string& opts, size_t layers, const std::string& target, unsigned long flags,
             bool writable) {
  if (opts.size() > kMaxOverlayOptions) {
    return InvalidArgumentError("overlay of " + std::to_string(layers) + " layers at " + target +
                                ": the mount options take " + std::to_string(opts.size()) +
                                " bytes; the kernel takes at most " +
                                std::to_string(kMaxOverlayOptions) +
                                " (use a shorter state directory path)");
  }
  if (writable) {
    return executor::MountWritableOverlay(executor::SystemMounter(), target, flags, opts);
  }
  return executor::MountFs("overlay", "overlay", target, flags, opts);
}

}  // namespace

Result<OverlayMount> OverlayMount::ReadWrite(const std::vector<std::string>& lowers,
                                             const std::string& upper, const std::string& work,
                                             const std::string& target) {
  if (lowers.empty()) return InvalidArgumentError("overlay at " + target + ": no lower dirs");
  LK_RETURN_IF_ERROR(Mount(OverlayOptions(lowers, upper, work), lowers.size(), target, 0,
                           /*writable=*/true));
  return OverlayMount(target);
}

Result<OverlayMount> OverlayMount::ReadOnly(std::vector<std::string> lowers,
                                            const std::string& empty_dir,
                                            const std::string& target) {
  while (lowers.size() < 2) lowers.push_back(empty_dir);
  LK_RETURN_IF_ERROR(Mount(OverlayOptions(lowers, "", ""), lowers.size(), target, MS_RDONLY,
                           /*writable=*/false));
  return OverlayMount(target);
}

}  // namespace latchkey::build
