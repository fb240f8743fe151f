// Path operations confined to a root directory: the one in-root resolution layer, used to unpack
// untrusted layer and ADD tars, to COPY into a build's root filesystem and by the executor to
// prepare a container's root from the host.
//
// Every lookup goes through openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS relative to
// an open descriptor of the root: "..", absolute symlinks and relative symlinks are resolved as
// if the root were "/", and /proc magic links are refused, so a hostile tree (a symlink
// /run/secrets -> /etc, or -> ../../..) never makes latchkey read, create or remove a host path.
//
// Paths are container paths: "/etc/passwd", "etc/passwd" and "/../etc/passwd" all name the same
// file (they are cleaned lexically with RootedPath first). The last component of a path is
// followed by OpenInRoot (inside the root); callers that must not follow it open the parent and
// act on the leaf name with *at() calls and AT_SYMLINK_NOFOLLOW / O_NOFOLLOW.
//
// Errors are base::ErrnoStatus values naming the container path ("open /a/b: ...") or the
// caller's `display` text where one is given.
//
// Thread-safety: reentrant; concurrent modification of the same tree by another writer is not
// defended against beyond the kernel's RESOLVE_IN_ROOT guarantees.
#ifndef LATCHKEY_BASE_IN_ROOT_H_
#define LATCHKEY_BASE_IN_ROOT_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/path.h"  // RootedComponents, the companion of JoinComponents
#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::base {

// The first `count` components joined with "/" ("" for the root, or when count is 0).
std::string JoinComponents(const std::vector<std::string>& parts, size_t count);

// openat2(root_fd, RootedPath(path), flags | O_CLOEXEC, RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS). "", "." and "/" open the root itself. Errors name `display`, or the
// cleaned container path when `display` is empty.
Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags, mode_t mode = 0,
                            std::string_view display = {});

// Like OpenInRoot, but refuses any symlink on the way (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
// for trees a container may have written (an overlay upper dir).
Result<UniqueFd> OpenBeneathNoSymlinks(int root_fd, std::string_view path, int flags);

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

// mkdir -p inside the root, creating missing components with `mode` owned by uid:gid. Errors
// name the component ("mkdir /a/b: ..."). A symlink on the way whose target does not exist in
// the root is "mkdir <path>: File exists" (ALREADY_EXISTS); nothing outside the root is touched.
Status MakeDirsInRoot(int root_fd, std::string_view path, mode_t mode, uid_t uid, gid_t gid);

// Opens (as O_PATH|O_DIRECTORY) the directory at components [0, count) below the root, creating
// missing directories with mode 0755 on the way (symlinks on the way are resolved in the root).
// Errors name `display`.
Result<UniqueFd> OpenOrMakeDirInRoot(int root_fd, const std::vector<std::string>& parts,
                                     size_t count, std::string_view display);

// Reads the regular file at `path` inside the root (at most `max_bytes`, else
// RESOURCE_EXHAUSTED "<path> is larger than N bytes"). NOT_FOUND when it does not exist;
// FAILED_PRECONDITION "<path> is not a regular file" for anything else (a FIFO is not opened
// for blocking reads).
Result<std::string> ReadFileInRoot(int root_fd, std::string_view path, size_t max_bytes);

// The entry names of directory `dir_fd` (without "." and ".."), in readdir order.
Result<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view display);

// Removes `name` in directory `dir_fd` recursively without following symlinks. Missing is fine.
Status RemoveAt(int dir_fd, const std::string& name, std::string_view display);

// Removes every entry of the directory `dir_fd` except those for which keep(name) is true.
template <typename Keep>
Status RemoveChildrenExcept(int dir_fd, Keep keep, std::string_view display) {
  LK_ASSIGN_OR_RETURN(auto names, ListDirAt(dir_fd, display));
  for (const auto& n : names) {
    if (!keep(n)) LK_RETURN_IF_ERROR(RemoveAt(dir_fd, n, display));
  }
  return Status::OK();
}

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_IN_ROOT_H_
