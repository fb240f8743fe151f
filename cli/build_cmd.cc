// `latchkey build`: builds an image from a Dockerfile, BuildKit's way, with the build's secrets
// served by one broker session (opened before the first step, closed after the last, on
// success and failure alike). See docs/builder.md.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "broker/broker.h"
#include "broker/logging.h"
#include "broker/secret_flags.h"
#include "builder/executor/cancel.h"
#include "builder/solver/progress.h"
#include "cli/build_job.h"
#include "cli/build_options.h"
#include "cli/builder_choice.h"
#include "cli/caller_session.h"
#include "cli/cancel_signals.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/daemon_client.h"
#include "cli/docker_build.h"
#include "cli/remote_build.h"

namespace latchkey::cli {
namespace {

int RunBuild(const CommandContext& ctx, const BuildOptions& f) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  if (Status st = InstallCancelSignals(); !st.ok()) return Fail(st);
  // Bad flags exit with kExitUsage, before anything runs (a platform with no emulation is a
  // build failure, as in buildx).
  auto mode = BuildProgressMode(f);
  if (!mode.ok()) return FailFlags(mode.status());
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  // Which builder (--builder, $LATCHKEY_BUILDER, builder.use): flags Docker Engine cannot
  // honour are usage errors too, before anything connects.
  auto builder = ChooseBuilder(f.builder, *config, std::getenv);
  if (!builder.ok()) return FailFlags(builder.status());
  if (Status st = CheckDockerBuildFlags(*builder, f, ctx.global, std::getenv); !st.ok()) {
    return FailFlags(st);
  }
  auto req = MakeBuildRequest(f, *config, std::getenv);
  if (!req.ok()) return FailFlags(req.status());
  if (builder->kind == BuilderKind::kDocker) {
    // Docker Engine's BuildKit builds it; latchkey's broker serves its secrets
    // (docs/docker-builder.md).
    return RunDockerBuild(builder->engine, f, *mode, *req, *config, CancelSignal());
  }
  if (HostChoice host = ChooseHost(ctx.global, *config, std::getenv); !host.host.empty()) {
    // latchkeyd builds it (docs/daemon.md); same flags, output and exit codes.
    return RunRemoteBuild(host, f, *mode, *req, *config, CancelSignal());
  }
  BrokerOptions broker_options;
  broker_options.cancelled = &executor::CancelFlag();  // Ctrl-C also ends a hung provider fetch
  auto broker = Broker::Start(*config, broker_options);
  if (!broker.ok()) return Fail(broker.status());
  SessionAttributes attrs;
  if (Status st = SetCallerAttributes(**broker, f.secrets, &attrs); !st.ok()) {
    return FailFlags(st);
  }
  auto progress = build::NewProgressWriter(*mode, STDERR_FILENO);
  BuildJobOutcome job =
      RunBuildJob(JobBroker::Of(**broker), *config, *req, std::move(attrs), *progress);
  if (!job.started) return Fail(job.result.status());
  return ReportBuild(f, *mode, *req, job, *progress, *CancelSignal());
}

CommandRegistrar reg("build", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<BuildOptions>();
  auto* b = app.add_subcommand("build", "Build an image from a Dockerfile");
  AddBuildOptions(b, f.get());
  AddHostOption(b, &ctx.global);
  b->callback([f, &ctx] { ctx.exit_code = RunBuild(ctx, *f); });
});

}  // namespace
}  // namespace latchkey::cli
