#include "builder/solver/step_mounts.h"

#include <string>

namespace latchkey::build {
namespace {

// The mode as written, or the type's default when none was (BuildKit sends file options only
// when one was written).
uint32_t ModeOr(const frontend::MountSpec& m, uint32_t fallback) {
  return m.mode_set || m.mode != 0 ? m.mode : fallback;
}

executor::CacheSharing Sharing(frontend::CacheSharing s) {
  switch (s) {
    case frontend::CacheSharing::kShared:
      return executor::CacheSharing::kShared;
    case frontend::CacheSharing::kPrivate:
      return executor::CacheSharing::kPrivate;
    case frontend::CacheSharing::kLocked:
      return executor::CacheSharing::kLocked;
  }
  return executor::CacheSharing::kShared;
}

}  // namespace

executor::StepMount ToStepMount(const frontend::MountSpec& m, std::string_view workdir) {
  std::string target = frontend::ResolveTarget(m, workdir.empty() ? "/" : workdir);
  switch (m.type) {
    case frontend::MountType::kBind:
      return executor::BindMount{target, m.source, m.from, m.readonly};
    case frontend::MountType::kCache:
      return executor::CacheMount{m.id,
                                  target,
                                  m.from,
                                  m.readonly,
                                  Sharing(m.sharing),
                                  ModeOr(m, frontend::kDefaultCacheMode),
                                  m.uid,
                                  m.gid};
    case frontend::MountType::kTmpfs:
      return executor::TmpfsMount{target, m.size_bytes.value_or(0)};
    case frontend::MountType::kSecret:
      return executor::SecretMount{
          m.id,  target, m.env.value_or(""), m.required, ModeOr(m, frontend::kDefaultSecretMode),
          m.uid, m.gid};
    case frontend::MountType::kSsh:
      return executor::SshMount{m.id,  target, m.required, ModeOr(m, frontend::kDefaultSshMode),
                                m.uid, m.gid};
  }
  return executor::BindMount{target, m.source, m.from, m.readonly};
}

std::vector<executor::StepMount> ToStepMounts(const std::vector<frontend::MountSpec>& specs,
                                              std::string_view workdir) {
  std::vector<executor::StepMount> out;
  out.reserve(specs.size());
  for (const auto& m : specs) out.push_back(ToStepMount(m, workdir));
  return out;
}

}  // namespace latchkey::build
