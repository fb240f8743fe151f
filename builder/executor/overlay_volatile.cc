#include "builder/executor/overlay_volatile.h"

#include <errno.h>

#include "base/errno_status.h"
#include "builder/executor/sys_util.h"

namespace latchkey::executor {
namespace {

// Mounter errors are worded by base::ErrnoStatus ("mount overlay on <target>: <errno text>");
// mount(2) says EINVAL for an option the filesystem does not know.
bool IsInvalidArgument(const Status& st) {
  const std::string suffix = ": " + base::ErrnoText(EINVAL);
  const std::string& m = st.message();
  return m.size() >= suffix.size() &&
         m.compare(m.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

VolatileSupport& ProcessVolatileSupport() {
  static VolatileSupport* support = new VolatileSupport();
  return *support;
}

Status MountWritableOverlay(Mounter& mounter, const std::string& target, unsigned long flags,
                            const std::string& options, VolatileSupport& support) {
  const VolatileSupport::State known = support.state();
  if (known == VolatileSupport::State::kUnsupported) {
    return mounter.Mount("overlay", target, flags, options);
  }
  Status st = mounter.Mount("overlay", target, flags, options + ",volatile");
  if (st.ok()) {
    if (known == VolatileSupport::State::kUnknown) support.Set(VolatileSupport::State::kSupported);
    return st;
  }
  if (known != VolatileSupport::State::kUnknown || !IsInvalidArgument(st)) return st;
  Status plain = mounter.Mount("overlay", target, flags, options);
  if (plain.ok()) support.Set(VolatileSupport::State::kUnsupported);
  return plain;
}

Status ClearVolatileMark(const std::string& work_dir) {
  // incompat/volatile/ holds one empty file, "dirty".
  return RemoveAll(work_dir + "/work/incompat");
}

}  // namespace latchkey::executor
