#include "broker/state_dir.h"

#include <vector>

namespace latchkey {

std::string NormalizePath(std::string_view path) {
  const bool absolute = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
      // skip
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  out.reserve(path.size() + 1);
  if (absolute) out.push_back('/');
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out.push_back('/');
    out.append(parts[k].data(), parts[k].size());
  }
  if (out.empty()) out.push_back('.');
  return out;
}

std::string JoinPath(std::string_view base, std::string_view path) {
  if (!path.empty() && path[0] == '/') return NormalizePath(path);
  std::string joined;
  joined.reserve(base.size() + path.size() + 1);
  joined.append(base.data(), base.size());
  joined.push_back('/');
  joined.append(path.data(), path.size());
  return NormalizePath(joined);
}

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
