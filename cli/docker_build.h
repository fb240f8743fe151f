// RunDockerBuild: `latchkey build --builder docker[://<engine address>]` (docs/docker-builder.md).
// The build runs on Docker Engine's BuildKit; latchkey stands in for Docker's client and
// brokers every secret the build asks for:
//   1. GET /version: the API to speak (engine/engine_client.h); an Engine that cannot be
//      reached or is too old fails here ("cannot reach Docker Engine at <address>: ...").
//   2. The broker starts (the configuration's providers and policy) and the Engine session is
//      opened (POST /session, engine/engine_session.h) serving moby.buildkit.secrets.v1.Secrets:
//      each GetSecret is a broker Session::Fetch -- --secret sources, type=store and the other
//      providers, policy, the audit record first (peer: the Engine), the value registered for
//      redaction -- and a refusal is the call's error, which fails the step with latchkey's text.
//      The broker session is opened with the Engine as its peer.
//   3. POST /build?version=2&session=<id>: the context as a tar body (.dockerignore applied
//      here; a Dockerfile outside the context is added under a generated name), tags, build
//      args, target, labels, --no-cache, --pull, --network, --add-host, --shm-size, --ulimit,
//      --platform. BuildKit's progress (moby.buildkit.trace) is replayed into latchkey's
//      progress writer; the image id comes from moby.image.id.
//   4. The leak guard: the image is read back (GET /images/<id>/get) and scanned for every
//      value the session handed out; a hit removes the image and fails the command with the
//      embedded build's message (--allow-secret-leak as there).
//   5. The broker session is closed ("completed", "failed", "cancelled"), and the result is
//      reported as an embedded build's (ReportBuild: --iidfile, --metadata-file, -q, exit codes).
// Ctrl-C / SIGTERM close the /build connection (the Engine cancels the build) and the session.
//
// Thread-safety: call from the main thread.
#ifndef LATCHKEY_CLI_DOCKER_BUILD_H_
#define LATCHKEY_CLI_DOCKER_BUILD_H_

#include <csignal>
#include <string>

#include "broker/config.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "cli/build_options.h"

namespace latchkey::cli {

// `engine_address`: "unix:///path/docker.sock" or "tcp://host:port". `signal`: set by the
// command's signal handler (which also calls executor::RequestCancel).
int RunDockerBuild(const std::string& engine_address, const BuildOptions& options,
                   build::ProgressMode mode, build::BuildRequest& request, const Config& config,
                   const volatile sig_atomic_t* signal);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_DOCKER_BUILD_H_
