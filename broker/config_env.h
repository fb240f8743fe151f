// Environment snapshots: the configuration, state-directory and --secret parsers never call
// getenv; they take one of these, so tests can pass any environment they like.
//
// Two shapes, on purpose:
//   EnvMap    names and values, for plain settings (HOME, XDG_STATE_HOME, LATCHKEY_CONFIG).
//   EnvNames  names only, for deciding whether a --secret id names a variable. Values of
//             arbitrary variables may be secrets, and secrets never live in a std::string.
//
// Thread-safety: plain values. Snapshot* read `envp` and must not race with setenv.
#ifndef LATCHKEY_BROKER_CONFIG_ENV_H_
#define LATCHKEY_BROKER_CONFIG_ENV_H_

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace latchkey {

using EnvMap = std::map<std::string, std::string, std::less<>>;
using EnvNames = std::set<std::string, std::less<>>;

// Copies the variables named in `names` that are set in `envp` (a NULL-terminated
// "NAME=value" array such as `environ`). Unlisted variables are not copied.
EnvMap SnapshotEnv(char** envp, std::initializer_list<std::string_view> names);

// The names of every variable set in `envp`; values are not copied.
EnvNames SnapshotEnvNames(char** envp);

// The value of `name` in `env`, or nullopt when unset (set-but-empty gives "").
std::optional<std::string> LookupEnv(const EnvMap& env, std::string_view name);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_CONFIG_ENV_H_
