// Which builder a `latchkey build` uses, and the build flags the Docker Engine builder cannot
// honour. Sources, the first one set wins: the flag `--builder VALUE`, the environment variable
// $LATCHKEY_BUILDER (when not empty), the configuration's `builder.use`, else `embedded`. The
// value forms are broker/builder_value.h's: `embedded`, `docker` (Docker's default engine:
// $DOCKER_HOST when not empty, else unix:///var/run/docker.sock), `docker://unix:///abs/x.sock`,
// `docker://tcp://HOST:PORT` (plain: no TLS). docs/builder.md, "Which builder".
//
// Thread-safety: pure functions of their arguments (the environment is read through `env`).
#ifndef LATCHKEY_CLI_BUILDER_CHOICE_H_
#define LATCHKEY_CLI_BUILDER_CHOICE_H_

#include <optional>
#include <string>

#include "broker/builder_value.h"
#include "broker/config.h"
#include "cli/build_options.h"
#include "cli/command_registry.h"
#include "latchkey/status.h"

namespace latchkey::cli {

inline constexpr const char* kBuilderEnvVar = "LATCHKEY_BUILDER";
// Docker's own default when $DOCKER_HOST is unset or empty.
inline constexpr const char* kDefaultDockerHost = "unix:///var/run/docker.sock";

enum class BuilderSource { kDefault, kFlag, kEnv, kConfig };

struct BuilderChoice {
  BuilderKind kind = BuilderKind::kEmbedded;
  // kDocker: the Engine's address, "unix:///abs/path.sock" or "tcp://HOST:PORT" (never empty);
  // "" for kEmbedded.
  std::string engine;
  BuilderSource source = BuilderSource::kDefault;
  // Where the choice came from, for messages: "--builder", "LATCHKEY_BUILDER",
  // "builder.use (/etc/latchkey/latchkey.yaml:7:8)" or "the default".
  std::string origin;
  // The setting that chose the builder, written with its kind: "--builder docker",
  // "LATCHKEY_BUILDER=docker", "builder.use: docker" (also for docker://... values), or
  // "embedded" for the default. The refusals below read "... is not supported with <setting>".
  std::string setting;
  // kDocker from a plain `docker`: "DOCKER_HOST" when the engine came from $DOCKER_HOST, else
  // "" (an explicit docker://ADDRESS, or Docker's default socket).
  std::string engine_origin;
};

// The builder for this build. `flag` is --builder (nullopt when not given; an empty value is
// an error). INVALID_ARGUMENT (a usage error), with the source and the value in front of
// ParseBuilderValue's / ParseEngineAddress's problem:
//   --builder "dokcer": unknown builder (want embedded, docker or
//   docker://unix:///path/docker.sock) LATCHKEY_BUILDER "docker://https://h:2376": TLS connections
//   to Docker Engine are not ... builder.use "x" (<file>:<line>:<col>): ...      (only if the
//   loader let it through) DOCKER_HOST "ssh://me@h" (used by --builder docker): unsupported scheme
//   "ssh" (want ...) DOCKER_TLS_VERIFY is set (used by --builder docker with DOCKER_HOST
//   tcp://h:2376): latchkey
//     reaches Docker Engine without TLS; unset DOCKER_TLS_VERIFY or use
//     docker://unix:///path/docker.sock
Result<BuilderChoice> ChooseBuilder(const std::optional<std::string>& flag, const Config& config,
                                    const EnvLookup& env);

// The flags of `f` (and a latchkeyd host from --host or $LATCHKEY_HOST) that a build on Docker
// Engine cannot honour; OK for an embedded choice. A daemon named only by the configuration's
// `host:` is not refused: the explicit builder wins and the build runs on Docker Engine
// (`host:` still applies to `images` and `image rm`); `--host embedded` is not refused either. The
// first problem, in this order, as INVALID_ARGUMENT "<flag> is not supported with <choice.setting>:
// <why or fix>":
//   --host / LATCHKEY_HOST   the build runs on Docker Engine, not on latchkeyd
//   --build-context          the Engine's /build takes one context
//   -o "<spec>"              anything but the plain `type=image` (the image stays in Docker
//                            Engine's image store)   (an -o that does not parse: its own error)
//   --push                   push with `docker push`
//   --no-cache-filter        the Engine's /build has no per-stage cache switch
//   --runtime                the Engine runs steps with its own runtime
//   --platform P1,P2         more than one platform
// Everything else maps onto POST /build (tags, build args, target, labels, no-cache, pull,
// network, add-host, shm-size, ulimit, one platform, -f) or stays latchkey's (--secret,
// --allow-secret-leak, --progress, -q, --iidfile, --metadata-file).
Status CheckDockerBuildFlags(const BuilderChoice& choice, const BuildOptions& f,
                             const GlobalOptions& global, const EnvLookup& env);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BUILDER_CHOICE_H_
