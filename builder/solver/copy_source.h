// The read side of COPY/ADD: resolving source paths and wildcards inside a source root, and
// walking a source directory in a stable order with .dockerignore and --exclude applied.
// Shared by ExecuteCopy and CopySourceDigest so that both see exactly the same files.
//
// Everything is resolved with openat2(RESOLVE_IN_ROOT) relative to the root descriptor; inside
// a walked directory, entries are opened by name with O_NOFOLLOW (symlinks are entries, never
// followed).
//
// Thread-safety: reentrant; no shared state.
#ifndef LATCHKEY_BUILDER_SOLVER_COPY_SOURCE_H_
#define LATCHKEY_BUILDER_SOLVER_COPY_SOURCE_H_

#include <sys/stat.h>

#include <functional>
#include <string>
#include <vector>

#include "builder/image/fs_util.h"
#include "builder/solver/dockerignore.h"
#include "latchkey/status.h"

namespace latchkey::build {

// An opened source root.
struct SourceTree {
  image::UniqueFd root;          // O_PATH directory descriptor of the root
  std::string root_host_path;    // where `root` really is (symlinks of the dir resolved)
  const IgnoreMatcher* ignore;   // the context's .dockerignore or nullptr; not owned
  const IgnoreMatcher* exclude;  // COPY --exclude (relative to each source) or nullptr; not owned
  std::string display;           // "build context", for errors
};

// One top-level source after resolution.
struct ResolvedSource {
  std::string written;   // the source as written (or a wildcard's match), for errors
  std::string base;      // the name a file source gets in a directory destination
  std::string root_rel;  // the resolved path relative to the root ("" = the root)
  image::UniqueFd fd;    // O_PATH descriptor of the resolved source
  struct stat st;        // its stat (a top-level symlink is followed)
};

// Opens `dir` as a source root.
Result<SourceTree> OpenSourceTree(const std::string& dir, const IgnoreMatcher* ignore,
                                  const IgnoreMatcher* exclude, std::string display);

// Resolves one source as written, expanding wildcards (Go filepath.Match per path component;
// names hidden by .dockerignore never match). Errors: see ExecuteCopy in copy.h.
Result<std::vector<ResolvedSource>> ResolveSource(const SourceTree& tree,
                                                  const std::string& written);

// One entry met by WalkSource.
struct WalkEntry {
  std::string rel;   // relative to the walked source directory ("a/b")
  int parent_fd;     // an open descriptor of the entry's directory (valid during the callback)
  std::string name;  // the entry's name in parent_fd
  struct stat st;    // lstat
};

// Calls fn for every entry below the directory `src`, parents before children, names sorted
// bytewise. Entries excluded by .dockerignore or --exclude are skipped; an excluded directory
// that an exception may re-include is descended into and reported only when something below it
// is reported. Stops at the first error fn returns.
Status WalkSource(const SourceTree& tree, const ResolvedSource& src,
                  const std::function<Status(const WalkEntry&)>& fn);

// "a/b" joined; either side may be empty.
std::string JoinRel(const std::string& a, const std::string& b);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_COPY_SOURCE_H_
