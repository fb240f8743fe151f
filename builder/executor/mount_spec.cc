#include "builder/executor/mount_spec.h"

namespace latchkey::executor {

const char* MountTypeName(const StepMount& mount) {
  struct Name {
    const char* operator()(const BindMount&) const { return "bind"; }
    const char* operator()(const CacheMount&) const { return "cache"; }
    const char* operator()(const TmpfsMount&) const { return "tmpfs"; }
    const char* operator()(const SecretMount&) const { return "secret"; }
    const char* operator()(const SshMount&) const { return "ssh"; }
  };
  return std::visit(Name{}, mount);
}

const std::string& MountTarget(const StepMount& mount) {
  return std::visit([](const auto& m) -> const std::string& { return m.target; }, mount);
}

}  // namespace latchkey::executor
