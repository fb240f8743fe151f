#include "broker/config_env.h"

#include <cstring>

namespace latchkey {

EnvMap SnapshotEnv(char** envp, std::initializer_list<std::string_view> names) {
  EnvMap out;
  if (envp == nullptr) return out;
  for (char** p = envp; *p != nullptr; ++p) {
    const char* eq = std::strchr(*p, '=');
    if (eq == nullptr) continue;
    std::string_view name(*p, static_cast<size_t>(eq - *p));
    for (std::string_view wanted : names) {
      if (name == wanted) {
        out.emplace(std::string(name), std::string(eq + 1));
        break;
      }
    }
  }
  return out;
}

EnvNames SnapshotEnvNames(char** envp) {
  EnvNames out;
  if (envp == nullptr) return out;
  for (char** p = envp; *p != nullptr; ++p) {
    const char* eq = std::strchr(*p, '=');
    if (eq == nullptr) continue;
    out.emplace(*p, static_cast<size_t>(eq - *p));
  }
  return out;
}

std::optional<std::string> LookupEnv(const EnvMap& env, std::string_view name) {
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

}  // namespace latchkey
