#include "builder/executor/mounter.h"

#include "builder/executor/sys_util.h"

namespace latchkey::executor {
namespace {

class SystemMounterImpl : public Mounter {
 public:
  Status Mount(const std::string& fstype, const std::string& target, unsigned long flags,
               const std::string& data) override {
    return MountFs(fstype, fstype, target, flags, data);
  }
  Status Unmount(const std::string& target) override { return executor::Unmount(target); }
};

}  // namespace

Mounter& SystemMounter() {
  static SystemMounterImpl* mounter = new SystemMounterImpl();
  return *mounter;
}

}  // namespace latchkey::executor
