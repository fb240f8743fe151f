// COPY --chown and --chmod parsing, as BuildKit does it.
//
// --chown is resolved in the DESTINATION root filesystem (its /etc/passwd and /etc/group, read
// inside the root): "name" takes the user's uid and primary gid, a numeric "uid" alone means
// uid:uid, "x:group" takes the group's gid (or the numeric gid).
//
// Thread-safety: pure functions (ResolveChown reads files under root_fd).
#ifndef LATCHKEY_BUILDER_SOLVER_COPY_OWNER_H_
#define LATCHKEY_BUILDER_SOLVER_COPY_OWNER_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::build {

struct CopyOwner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// nullopt for an empty spec. Errors (INVALID_ARGUMENT, Docker's text):
//   "unable to convert uid/gid chown string to host mapping: can't find uid for user <u>: no
//   such user: <u>" and "...: can't find gid for group <g>: no such group: <g>".
Result<std::optional<CopyOwner>> ResolveChown(int root_fd, std::string_view spec);

// nullopt for an empty value; otherwise an octal mode up to 07777. Error: INVALID_ARGUMENT
// "invalid chmod parameter: <value>".
Result<std::optional<mode_t>> ParseChmod(std::string_view value);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_COPY_OWNER_H_
