// The broker's state directory: audit log, audit keys, and (later) the builder's and the
// store's data live under it unless configured elsewhere.
//
// Resolution, first that applies:
//   1. `configured` (the config file's `state_dir:`), when non-empty;
//   2. /var/lib/latchkey when the effective uid is 0;
//   3. $XDG_STATE_HOME/latchkey when XDG_STATE_HOME is set to an absolute path (the XDG spec
//      says relative values are to be ignored);
//   4. $HOME/.local/state/latchkey when HOME is set to an absolute path.
// Nothing is created or checked on disk here.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BROKER_STATE_DIR_H_
#define LATCHKEY_BROKER_STATE_DIR_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/path.h"
#include "broker/config_env.h"
#include "latchkey/status.h"

namespace latchkey {

inline constexpr const char* kRootStateDir = "/var/lib/latchkey";

// Returns the absolute, lexically normalised state directory. Fails (FAILED_PRECONDITION)
// only in case 4 when HOME is unset or relative:
//   "cannot choose a state directory: HOME is not set (or not absolute) and XDG_STATE_HOME is
//   not set; set state_dir in the configuration file"
// `configured` must already be absolute (the config loader resolves relative paths).
Result<std::string> ResolveStateDir(std::string_view configured, const EnvMap& env, uid_t euid);

// base::CleanPath (Go's path.Clean) under the name the broker's callers use: collapses "//",
// removes "." and resolves ".." (never above "/"), drops a trailing '/'.
inline std::string NormalizePath(std::string_view path) { return base::CleanPath(path); }

// base::ResolvePath: `base`/`path` normalised; `path` alone when it is absolute.
inline std::string JoinPath(std::string_view base, std::string_view path) {
  return base::ResolvePath(base, path);
}

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_STATE_DIR_H_
