// Path operations confined to a root directory, for unpacking untrusted layer tars.
//
// Every lookup goes through openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS relative to
// an open descriptor of the root: "..", absolute paths and symlinks (absolute or relative) are
// all resolved as if the root were "/", so no entry of a tar can reach a host path. The last
// component of a path is never followed: callers get the parent directory's descriptor and act
// on the leaf name with *at() calls that do not follow symlinks.
//
// Thread-safety: functions are reentrant; concurrent modification of the same tree by another
// writer is not defended against beyond the kernel's RESOLVE_IN_ROOT guarantees.
#ifndef LATCHKEY_BUILDER_IMAGE_IN_ROOT_H_
#define LATCHKEY_BUILDER_IMAGE_IN_ROOT_H_

#include <string>
#include <string_view>
#include <vector>

#include "builder/image/fs_util.h"
#include "latchkey/status.h"

namespace latchkey::image {

// Lexically cleans a tar entry name into components below the root: drops empty and "."
// components and a leading "/", and applies ".." by popping (never above the root). "" or
// "./" or "/.." give an empty vector (the root itself).
std::vector<std::string> CleanComponents(std::string_view name);
// The components joined with "/" ("" for the root).
std::string JoinComponents(const std::vector<std::string>& parts, size_t count);

// openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). `path` relative;
// "" or "." opens the root itself. Errors name `display` (the entry name).
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode,
                            std::string_view display);

// Opens (as O_PATH|O_DIRECTORY) the directory at components [0, count) below the root, creating
// missing directories with mode 0755 on the way (symlinks on the way are resolved in the root).
Result<UniqueFd> OpenOrMakeDirInRoot(int root_fd, const std::vector<std::string>& parts,
                                     size_t count, std::string_view display);

// Removes `name` in directory `dir_fd` recursively without following symlinks. Missing is fine.
Status RemoveAt(int dir_fd, const std::string& name, std::string_view display);

// Removes every entry of the directory `dir_fd` except those for which keep(name) is true.
template <typename Keep>
Status RemoveChildrenExcept(int dir_fd, Keep keep, std::string_view display);

// Implementation detail of RemoveChildrenExcept: the entry names of directory `dir_fd`.
Result<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view display);

template <typename Keep>
Status RemoveChildrenExcept(int dir_fd, Keep keep, std::string_view display) {
  LK_ASSIGN_OR_RETURN(auto names, ListDirAt(dir_fd, display));
  for (const auto& n : names) {
    if (!keep(n)) LK_RETURN_IF_ERROR(RemoveAt(dir_fd, n, display));
  }
  return Status::OK();
}

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_IN_ROOT_H_
