// The confinement latchkey-provider-host applies to itself before it loads a plugin
// (docs/plugin-abi.md, "Process isolation"). In this order:
//   1. stdin, stdout and stderr become /dev/null; every other descriptor is closed except the
//      broker's socket and the ones the configuration names (`keep_fds`);
//   2. rlimits: RLIMIT_CORE 0, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_CPU (soft; hard = soft + 5 s);
//   3. PR_SET_DUMPABLE 0 (nothing can attach to or read the host's memory as the same uid);
//   4. optionally setgroups({gid}), setgid, setuid (requires starting as root);
//   5. PR_SET_NO_NEW_PRIVS 1;
//   6. a seccomp allowlist (libseccomp, SeccompAllowlist()): anything else fails with EPERM.
// The environment is cleaned by the broker (it passes only PATH).
#ifndef LATCHKEY_BROKER_HOST_CONFINEMENT_H_
#define LATCHKEY_BROKER_HOST_CONFINEMENT_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey {

struct ConfinementOptions {
  int socket_fd = 3;
  std::vector<int> keep_fds;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  uint64_t address_space_bytes = 1ULL << 30;  // RLIMIT_AS: 1 GiB
  uint64_t open_files = 64;                   // RLIMIT_NOFILE (raised to fit keep_fds)
  uint64_t cpu_seconds = 300;                 // RLIMIT_CPU (soft)
};

// Applies steps 1..6 to the calling process. Call single-threaded. Errors name the step:
// "confinement: setuid(1234): Operation not permitted", "confinement: seccomp: <cause>".
Status Confine(const ConfinementOptions& options);

// The syscalls the host and its plugin may make (names, as libseccomp knows them): enough for
// providers that read files, talk to a network service or run a helper program.
const std::vector<std::string>& SeccompAllowlist();

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_HOST_CONFINEMENT_H_
