// Persistent cache directories for RUN --mount=type=cache, one per cache id under
// `<state>/cache/<sha256(id)>`, with BuildKit's sharing modes:
//   shared  - any number of steps use the directory at once (a shared flock);
//   locked  - one step at a time; others wait (an exclusive flock, blocking);
//   private - a step that finds the directory in use gets another one of the same id
//             (`<hash>-1`, `<hash>-2`, ...: the first whose exclusive flock is free).
// The lock file is `<dir>.lock`. A directory created here gets the mount's mode, uid and gid.
//
// Thread-safety: thread- and process-safe through flock (each lease opens its own lock file).
#ifndef LATCHKEY_BUILDER_EXECUTOR_CACHE_DIRS_H_
#define LATCHKEY_BUILDER_EXECUTOR_CACHE_DIRS_H_

#include <string>

#include "builder/executor/mount_spec.h"
#include "builder/executor/sys_util.h"
#include "latchkey/status.h"

namespace latchkey::executor {

// A cache directory held for one step; the lock is released on destruction.
struct CacheLease {
  std::string path;
  base::UniqueFd lock;
};

// Acquires the cache directory for `mount` under `cache_root` (created 0700).
Result<CacheLease> AcquireCacheDir(const std::string& cache_root, const CacheMount& mount);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_CACHE_DIRS_H_
