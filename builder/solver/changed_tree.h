// ChangedTree: what a build step changed inside a directory that outlives it (a cache mount).
//
// An entry "changed" when its status-change time (ctime) is at or after `since`: writing,
// creating, renaming, linking, chmod and chown all set it, and a step cannot set it back. Take
// `since` from CLOCK_REALTIME_COARSE before the step starts (the clock the kernel stamps files
// with), so nothing the step writes is older. Every directory is descended (a file rewritten in
// place does not change its directory), symlinks are never followed and mount points below the
// root are not crossed.
//
// Entry names may hold secret bytes: they are passed to callbacks as the directory entry's own
// buffer and never copied, and the path handed to `visit` is built from `display` (a masking
// function) applied to each component.
//
// Thread-safety: free functions; concurrent writers in the tree may make a walk see an entry
// twice or not at all.
#ifndef LATCHKEY_BUILDER_SOLVER_CHANGED_TREE_H_
#define LATCHKEY_BUILDER_SOLVER_CHANGED_TREE_H_

#include <sys/stat.h>

#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::build {

// Now, on the clock file timestamps are taken from.
struct timespec ChangedTreeClock();

// Calls visit(dirfd, name, st, path) for every changed entry under `root` (not `root` itself),
// a directory after its contents. `path` is the display path relative to `root` ("a/b").
// `root` missing is OK (nothing changed). Errors: "open <path>: <strerror>" and the like from
// opening and reading directories, or the first error `visit` returns.
using ChangedVisitor = std::function<Status(int dirfd, const char* name, const struct stat& st,
                                            const std::string& path)>;
Status WalkChangedTree(const std::string& root, const struct timespec& since,
                       const std::function<std::string(std::string_view name)>& display,
                       const ChangedVisitor& visit);

// Removes every changed non-directory entry under `root`, then every changed directory that is
// empty after that. Returns the number of entries removed.
Result<size_t> RemoveChangedTree(const std::string& root, const struct timespec& since);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_CHANGED_TREE_H_
