// USER resolution for a RUN step, as BuildKit does it (executor/oci/user.go GetUser, built on
// runc's libcontainer/user GetExecUser): the spec is looked up in the step's root filesystem's
// /etc/passwd and /etc/group, read inside the root (base/in_root.h), never on the host.
//
//   ""            -> uid 0, gid 0, no supplementary groups (also when passwd lacks root)
//   "uid:gid"     -> both numeric: taken as is, no lookup, no supplementary groups
//   "name"/"uid"  -> passwd entry matched by name, or by uid when numeric; gid from the entry;
//                    supplementary groups = every /etc/group entry listing the user's name.
//                    A numeric uid with no entry is allowed (gid 0).
//   "x:group"     -> as above for x; gid = the group named `group` (or numeric `group`);
//                    no supplementary groups.
// Errors (exact, libcontainer's text):
//   unable to find user <name>: no matching entries in passwd file
//   unable to find group <group>: no matching entries in group file
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_EXECUTOR_USER_LOOKUP_H_
#define LATCHKEY_BUILDER_EXECUTOR_USER_LOOKUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::executor {

struct ExecUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  friend bool operator==(const ExecUser&, const ExecUser&) = default;
};

// Resolves `spec` against passwd/group file contents (nullopt = the file does not exist).
Result<ExecUser> ResolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                             const std::optional<std::string>& group);

// Reads /etc/passwd and /etc/group inside the root opened as `root_fd`, then ResolveUser.
Result<ExecUser> ResolveUserInRoot(int root_fd, std::string_view spec);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_USER_LOOKUP_H_
