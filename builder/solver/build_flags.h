// Parsing of the `latchkey build` flags that buildx takes and scripts pass: --platform,
// --add-host, --shm-size and --ulimit, with buildx's (and Docker's) error texts. The CLI wraps
// each error as `invalid argument "<value>" for "--<flag>" flag: <message>` where Docker's
// flag parser does.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_SOLVER_BUILD_FLAGS_H_
#define LATCHKEY_BUILDER_SOLVER_BUILD_FLAGS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::build {

// This host's platform, "linux/amd64" on x86-64 (containerd's names).
std::string NativePlatform();

// --platform: a comma-separated list ("linux/amd64", "amd64", "linux/x86_64", "local" are the
// native platform on x86-64). Returns the platform to build for. Every entry must be the native
// platform: latchkey runs RUN steps natively and has no emulation; otherwise
// FAILED_PRECONDITION `no emulation for linux/arm64 on this host`.
Result<std::string> ParsePlatforms(const std::vector<std::string>& values);

// --add-host HOST:IP or HOST=IP (buildx's toBuildkitExtraHosts); IP is IPv4 or IPv6.
// INVALID_ARGUMENT `invalid host <value>`; `host-gateway` is refused:
// `invalid host <value>: host-gateway is not supported (RUN steps use the host's network, where
// the host is 127.0.0.1)`.
Result<executor::ExtraHost> ParseAddHost(std::string_view value);

// --shm-size: Docker's RAMInBytes ("64m", "1g", "1.5GiB", "1048576"; binary units).
// INVALID_ARGUMENT `invalid size: '<value>'`.
Result<int64_t> ParseShmSize(std::string_view value);

// --ulimit NAME=SOFT[:HARD] (Docker's units.ParseUlimit; -1 is unlimited). INVALID_ARGUMENT:
//   invalid ulimit argument: <value>
//   invalid ulimit type: <name>
//   too many limit value arguments - <v>, can only have up to two, `soft[:hard]`
//   ulimit soft limit must be less than or equal to hard limit: <soft> > <hard>
Result<executor::Rlimit> ParseUlimit(std::string_view value);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_BUILD_FLAGS_H_
