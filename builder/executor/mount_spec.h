// The executor's mount types: one RUN step's mounts as the executor needs them, every default
// already applied and every target already made absolute by the caller (the builder converts
// the frontend's parsed --mount flags: builder/solver/step_mounts.h). The executor resolves each
// target inside the root filesystem, fetches secrets when the step starts and sets the mounts
// up (executor.h, docs/executor.md).
//
// Secrets: a mount names a secret by id, never holds its value.
//
// Thread-safety: plain values.
#ifndef LATCHKEY_BUILDER_EXECUTOR_MOUNT_SPEC_H_
#define LATCHKEY_BUILDER_EXECUTOR_MOUNT_SPEC_H_

#include <cstdint>
#include <string>
#include <variant>

namespace latchkey::executor {

// A directory or file of the build context or of another stage or image, read-only, or
// read-write with the writes discarded after the step.
struct BindMount {
  std::string target = {};  // absolute container path
  std::string source = {};  // path inside the source ("" = its root)
  std::string from = {};    // a MountSources::from_dirs key; "" = the build context
  bool readonly = true;
  friend bool operator==(const BindMount&, const BindMount&) = default;
};

// BuildKit's cache sharing modes (cache_dirs.h).
enum class CacheSharing { kShared, kPrivate, kLocked };

// A persistent directory <state>/cache/<sha256(id)> shared by the steps that name the same id.
struct CacheMount {
  std::string id = {};
  std::string target = {};  // absolute container path
  std::string from = {};    // not supported: a non-empty from is refused when the step runs
  bool readonly = false;
  CacheSharing sharing = CacheSharing::kShared;
  // Applied when the directory is created. BuildKit's defaults.
  uint32_t mode = 0755;
  uint32_t uid = 0;
  uint32_t gid = 0;
  friend bool operator==(const CacheMount&, const CacheMount&) = default;
};

// A fresh tmpfs, discarded after the step.
struct TmpfsMount {
  std::string target = {};  // absolute container path
  int64_t size_bytes = 0;   // size= limit; 0 or less = none
  friend bool operator==(const TmpfsMount&, const TmpfsMount&) = default;
};

// A secret, fetched when the step starts: as a read-only file at `target` (on its own tmpfs),
// as the environment variable `env`, or both.
struct SecretMount {
  std::string id = {};
  std::string target = {};  // absolute container path; "" = no file (env only)
  std::string env = {};     // environment variable name; "" = not in the environment
  bool required = false;
  // The file's metadata. BuildKit's defaults.
  uint32_t mode = 0400;
  uint32_t uid = 0;
  uint32_t gid = 0;
  friend bool operator==(const SecretMount&, const SecretMount&) = default;
};

// A forwarding socket to the ssh agent MountSources::ssh_agents[id].
struct SshMount {
  std::string id = "default";
  std::string target = {};  // absolute container path
  bool required = false;
  // The socket's metadata. BuildKit's defaults.
  uint32_t mode = 0600;
  uint32_t uid = 0;
  uint32_t gid = 0;
  friend bool operator==(const SshMount&, const SshMount&) = default;
};

using StepMount = std::variant<BindMount, CacheMount, TmpfsMount, SecretMount, SshMount>;

// "bind", "cache", "tmpfs", "secret" or "ssh" (as --mount type= writes it; used in errors).
const char* MountTypeName(const StepMount& mount);

// The mount's target (absolute; "" for an env-only secret).
const std::string& MountTarget(const StepMount& mount);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_MOUNT_SPEC_H_
