// Which builder runs `latchkey build`, as the user spells it in `--builder`, $LATCHKEY_BUILDER
// or the configuration's `builder.use`, and Docker Engine addresses as $DOCKER_HOST spells them.
// Only the syntax: choosing between the three sources and Docker's defaults is
// cli/builder_choice.h. Kept in the broker so that the configuration loader refuses a bad
// `builder.use` with its file:line:col, using the same parser as the flag.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BROKER_BUILDER_VALUE_H_
#define LATCHKEY_BROKER_BUILDER_VALUE_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey {

enum class BuilderKind {
  kEmbedded,  // latchkey's own builder (runc), in this process or in latchkeyd (--host)
  kDocker,    // Docker Engine's BuildKit, through the Engine API (docs/builder.md)
};

// "embedded" or "docker".
const char* BuilderKindName(BuilderKind kind);

struct BuilderValue {
  BuilderKind kind = BuilderKind::kEmbedded;
  // kDocker: the Engine's address, "unix:///abs/path.sock" or "tcp://HOST:PORT"; "" when the
  // value was plain `docker` (Docker's default: $DOCKER_HOST, else unix:///var/run/docker.sock).
  std::string engine;
};

// The value forms: `embedded`, `docker`, `docker://unix:///abs/path.sock`,
// `docker://tcp://HOST:PORT`. INVALID_ARGUMENT with the problem only (callers put the source and
// the value in front: `--builder "dokcer": <problem>`):
//   unknown builder (want embedded, docker or docker://unix:///path/docker.sock)
//   no Docker Engine address after docker:// (want docker://unix:///path/docker.sock or
//     docker://tcp://HOST:PORT)
// and ParseEngineAddress's problems for what follows `docker://`.
Result<BuilderValue> ParseBuilderValue(std::string_view value);

// A Docker Engine address: `unix:///abs/path.sock` or `tcp://HOST[:PORT]` (Docker's defaults:
// host 127.0.0.1, port 2375; IPv6 as [::1]:2375), returned normalised ("tcp://HOST:PORT").
// INVALID_ARGUMENT with the problem only:
//   unsupported Docker Engine address (want unix:///path/docker.sock or tcp://HOST:PORT)
//                                                                    (no "scheme://")
//   TLS connections to Docker Engine are not supported (use unix:///path/docker.sock, or
//     tcp://HOST:PORT without TLS)                                   (https://)
//   unsupported scheme "<s>" (want unix:///path/docker.sock or tcp://HOST:PORT)
//   the socket path must be absolute (unix:///path/docker.sock: three slashes)
//   the socket path is <n> bytes, longer than the 107 a unix socket address holds
//   invalid port "<p>" (want 1 to 65535)
//   unexpected "<rest>" after HOST:PORT (want tcp://HOST:PORT)
//   unexpected "<rest>" after tcp:// (want tcp://HOST:PORT, IPv6 as [::1]:2375)   (no "]")
Result<std::string> ParseEngineAddress(std::string_view address);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_BUILDER_VALUE_H_
