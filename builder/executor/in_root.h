// Path operations confined to a container's root filesystem, done from the host.
//
// Every lookup goes through openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS relative to
// an open descriptor of the root: "..", absolute symlinks and relative symlinks are resolved as
// if the root were "/", so a hostile image (a symlink /run/secrets -> /etc, or -> ../../..)
// never makes the executor read, create or remove a host path.
//
// Container paths are absolute ("/etc/passwd"); CleanPath() normalises them lexically first.
//
// Thread-safety: reentrant; concurrent modification of the same tree by another writer is not
// defended against beyond the kernel's RESOLVE_IN_ROOT guarantees.
#ifndef LATCHKEY_BUILDER_EXECUTOR_IN_ROOT_H_
#define LATCHKEY_BUILDER_EXECUTOR_IN_ROOT_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "builder/executor/sys_util.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// Lexically cleans a container path: "/" + components without "", "." and with ".." applied
// (never above "/"). "" and "/.." give "/". Relative input is taken as relative to "/".
std::string CleanPath(std::string_view path);
// The components of a cleaned path ("/a/b" -> {"a", "b"}; "/" -> {}).
std::vector<std::string> PathComponents(std::string_view clean_path);

// openat2(root_fd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). "/" opens
// the root itself. The error names `path` (a container path).
Result<base::UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// Like OpenInRoot, but refuses any symlink on the way (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
// for trees a container may have written (an overlay upper dir).
Result<base::UniqueFd> OpenBeneathNoSymlinks(int root_fd, std::string_view path, int flags);

// The host path of an open descriptor (readlink of /proc/self/fd/N).
Result<std::string> FdPath(int fd);

// The container path `path` resolves to: the longest existing prefix is resolved inside the
// root (symlinks followed, in the root), the missing rest is appended lexically. Example: with
// /run/secrets -> /etc, "/run/secrets/x" gives "/etc/x". `root_host_path` is FdPath(root_fd).
Result<std::string> ResolveInRoot(int root_fd, const std::string& root_host_path,
                                  std::string_view path);

// True when `path` exists in the root (resolving symlinks in the root; a dangling final symlink
// counts as missing, like os.Lstat of BuildKit's securejoin'ed path).
bool ExistsInRoot(int root_fd, std::string_view path);

// mkdir -p inside the root, creating missing components with `mode` owned by uid:gid.
Status MakeDirsInRoot(int root_fd, std::string_view path, mode_t mode, uid_t uid, gid_t gid);

// Reads the regular file at `path` inside the root (at most `max_bytes`, else
// RESOURCE_EXHAUSTED). NOT_FOUND when it does not exist.
Result<std::string> ReadFileInRoot(int root_fd, std::string_view path, size_t max_bytes);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_IN_ROOT_H_
