#include "broker/state_dir.h"

namespace latchkey {

Result<std::string> ResolveStateDir(std::string_view configured, const EnvMap& env, uid_t euid) {
  if (!configured.empty()) return NormalizePath(configured);
  if (euid == 0) return std::string(kRootStateDir);
  auto xdg = LookupEnv(env, "XDG_STATE_HOME");
  if (xdg && !xdg->empty() && (*xdg)[0] == '/') return JoinPath(*xdg, "latchkey");
  auto home = LookupEnv(env, "HOME");
  if (home && !home->empty() && (*home)[0] == '/') return JoinPath(*home, ".local/state/latchkey");
  return FailedPreconditionError(
      "cannot choose a state directory: HOME is not set (or not absolute) and XDG_STATE_HOME "
      "is not set; set state_dir in the configuration file");
}

}  // namespace latchkey
