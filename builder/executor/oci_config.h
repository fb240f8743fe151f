// The OCI runtime config (config.json) of one RUN step, and writing it so that env secrets are
// spliced in from SecretBuffers without ever being held in a std::string or nlohmann::json.
//
// The config follows Docker's/containerd's defaults (oci/spec.go, containerd's
// oci.populateDefaultUnixSpec): the 14 default capabilities (bounding, effective, permitted),
// the /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys mounts, Docker's masked and read-only
// paths, pid/ipc/uts/mount namespaces (+ network for NetworkMode::kNone), noNewPrivileges, no
// seccomp profile, and a device cgroup rule denying all device access (runc adds its default
// allow list for /dev/null, zero, full, random, urandom, tty, ptmx). No resource limits and no
// cgroupsPath: runc 1.1 still places the container in a cgroup named after the container id
// (cgroupfs, created and removed by runc itself); the builder sets no limits.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_EXECUTOR_OCI_CONFIG_H_
#define LATCHKEY_BUILDER_EXECUTOR_OCI_CONFIG_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/executor/step.h"
#include "builder/executor/user_lookup.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::executor {

struct OciMount {
  std::string destination;  // absolute container path
  std::string type;         // "bind", "tmpfs", "proc", ...
  std::string source;
  std::vector<std::string> options;
};

// One env secret: NAME=<value>; a null value means the optional secret was missing (NAME=).
struct SecretEnv {
  std::string name;
  std::shared_ptr<const SecretBuffer> value;
};

struct OciConfigInput {
  std::vector<std::string> args;
  std::vector<std::string> env;  // non-secret entries only
  std::string cwd;
  ExecUser user;
  std::string hostname;
  NetworkMode network = NetworkMode::kHost;
  std::string rootfs_path;
  std::vector<OciMount> mounts;  // after the default mounts, in this order
  std::vector<Rlimit> rlimits;   // process.rlimits (--ulimit); none: runc's defaults
};

// The default mounts every step gets (/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys).
// /dev/shm is `shm_size_bytes` large (0: BuildKit's 64 MiB).
std::vector<OciMount> DefaultMounts(int64_t shm_size_bytes = 0);

// config.json without secrets. Each SecretEnv i is represented by a placeholder env entry that
// WriteOciConfig replaces; `secret_env` gives the names in order.
nlohmann::json BuildOciConfig(const OciConfigInput& in, const std::vector<SecretEnv>& secret_env);

// Checks that a secret value can be exposed as an environment variable: no NUL byte (the
// kernel would cut the value there) and valid UTF-8 (config.json is JSON; Go would replace
// invalid bytes). Errors (exact):
//   secret <id> cannot be exposed as environment variable <NAME>: the value contains a NUL
//     byte; mount it as a file instead (drop env=, or add target=)
//   secret <id> cannot be exposed as environment variable <NAME>: the value is not valid
//     UTF-8; mount it as a file instead (drop env=, or add target=)
Status CheckEnvSecretValue(const std::string& id, const std::string& name,
                           const SecretBuffer& value);

// Writes `config` to `path` (created 0600, must not exist), splicing each secret env value in
// place of its placeholder, JSON-escaped in a SecretBuffer. `path` must be on the step's
// in-memory tmpfs: the file holds secret values.
Status WriteOciConfig(const std::string& path, const nlohmann::json& config,
                      const std::vector<SecretEnv>& secret_env);
// The same, to an open descriptor (a pipe); `display` names it in errors.
Status WriteOciConfigTo(int fd, const std::string& display, const nlohmann::json& config,
                        const std::vector<SecretEnv>& secret_env);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_OCI_CONFIG_H_
