// DaemonBuildRunner: latchkeyd's BuildRunner (daemon/build_runner.h). It runs each Build call
// through RunBuildJob (cli/build_job.h), the code `latchkey build` runs in embedded mode, with a
// session of the daemon's BrokerHost (DaemonBuild::broker: its current generation's policy,
// providers and secrets map, and the daemon's audit log; the configuration snapshot of that
// generation for the rest, so a SIGHUP reload reaches every build started after it): the request's
// fields become the same BuildOptions the CLI parses (so they are validated by MakeBuildRequest
// with the CLI's texts), the broker session's attributes carry the caller's peer identity, and the
// client's `--secret` file and env sources become declared sources of the provider "client"
// (broker/session.h: policy decides, secret.fetch is written first, the value is asked from the
// client's session and held in SecretBuffers).
//
// Thread-safety: Run is called concurrently (the broker and the builder state are
// thread-safe).
#ifndef LATCHKEY_CLI_DAEMON_BUILD_RUNNER_H_
#define LATCHKEY_CLI_DAEMON_BUILD_RUNNER_H_

#include <memory>
#include <mutex>
#include <string>

#include "broker/broker.h"
#include "broker/config.h"
#include "builder/solver/builder.h"
#include "cli/build_options.h"
#include "daemon/build_runner.h"

namespace latchkey::cli {

// The BuildOptions (the flags `latchkey build` would have had) of a Build request whose
// context and Dockerfile the daemon holds at `build.context_dir` and `build.dockerfile_path`.
BuildOptions OptionsOf(const daemon::DaemonBuild& build);

// The build's -o outputs that land on the client (every type but type=image): written into
// `build.job_dir` ("output-<i>", "output-<i>.tar" for type=oci) instead of the client's path,
// which the progress shows (ExportSpec::shown_dest, from request.output_dests), and sent to
// the client with `build.send_output` from inside the output's vertex, then removed.
// INVALID_ARGUMENT when an output has no output_dests entry; FAILED_PRECONDITION without
// job_dir or send_output.
Status RouteClientOutputs(const daemon::DaemonBuild& build, build::BuildRequest* request);

// The request's --build-context entries as the builder's named contexts, each at the daemon's
// copy of its directory (`build.build_context_dirs`). FAILED_PRECONDITION "build context
// \"<name>\" was not transferred to latchkeyd" for one without a copy.
Status AddBuildContexts(const daemon::DaemonBuild& build, build::BuildRequest* request);

class DaemonBuildRunner final : public daemon::BuildRunner {
 public:
  // `builder_state_dir`: the image store and build cache the builds use. Never fails today.
  static Result<std::unique_ptr<DaemonBuildRunner>> Start(std::string builder_state_dir);

  // INVALID_ARGUMENT for a bad field (MakeBuildRequest's texts), RouteClientOutputs's errors,
  // and for a secret kind that names no configured provider; FAILED_PRECONDITION without
  // `build.broker`; else RunBuildJob's start errors. Otherwise `result` is filled.
  Status Run(const daemon::DaemonBuild& build, build::ProgressWriter& progress,
             latchkey::v1::BuildResult* result) override;

 private:
  explicit DaemonBuildRunner(std::string state_dir) : state_dir_(std::move(state_dir)) {}

  const std::string state_dir_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_DAEMON_BUILD_RUNNER_H_
