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
#include "builder/image/fs_util.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "cli/broker_secret_session.h"
#include "cli/build_options.h"
#include "cli/build_report.h"
#include "cli/caller_session.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/gc_flags.h"
#include "cli/registry_image_puller.h"
#include "cli/registry_image_pusher.h"
#include "cli/state_recovery_setup.h"

namespace latchkey::cli {
namespace {

volatile sig_atomic_t g_signal = 0;

// Ctrl-C / SIGTERM: stop the build at the next safe point; the running step's container is
// killed and torn down (secrets wiped), and the session is closed as "cancelled".
void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
  executor::RequestCancel();
}

Status InstallSignalHandlers() {
  LK_RETURN_IF_ERROR(executor::InitCancellation());
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    if (::sigaction(sig, &sa, nullptr) != 0) {
      return InternalError(std::string("sigaction: ") + std::strerror(errno));
    }
  }
  return Status::OK();
}

int RunBuild(const CommandContext& ctx, const BuildOptions& f) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  if (Status st = InstallSignalHandlers(); !st.ok()) return Fail(st);
  // Bad flags exit with kExitUsage, before anything runs (a platform with no emulation is a
  // build failure, as in buildx).
  auto mode = BuildProgressMode(f);
  if (!mode.ok()) return FailFlags(mode.status());
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  auto req = MakeBuildRequest(f, *config, std::getenv);
  if (!req.ok()) return FailFlags(req.status());
  BrokerOptions broker_options;
  broker_options.cancelled = &executor::CancelFlag();  // Ctrl-C also ends a hung provider fetch
  auto broker = Broker::Start(*config, broker_options);
  if (!broker.ok()) return Fail(broker.status());
  // What builds that died left behind (mounts holding secrets, containers, temp dirs) goes
  // before anything else touches the state dir; live concurrent builds are left alone.
  if (Status st = RecoverBuilderState(*config, req->state_dir, req->runtime, &(*broker)->audit());
      !st.ok()) {
    return Fail(st);
  }
  SessionAttributes attrs;
  if (Status st = SetCallerAttributes(**broker, f.secrets, &attrs); !st.ok()) {
    return FailFlags(st);
  }
  attrs.build_id = NewSessionId();
  const std::string build_ref = "latchkey/local/" + attrs.build_id;
  attrs.dockerfile = req->dockerfile_path;
  attrs.context = req->context_dir;
  attrs.labels = req->labels;
  auto session = (*broker)->sessions().Open(std::move(attrs));
  if (!session.ok()) return Fail(session.status());

  auto progress = build::NewProgressWriter(*mode, STDERR_FILENO);
  build::BuildFailure failure;
  BrokerSecretSession secrets(**session, (*broker)->audit());
  // FROM images the store lacks; --pull. Credentials: the session's `registry:<host>`.
  RegistryImagePuller puller(*config, **session);
  req->puller = &puller;
  RegistryImagePusher pusher(*config, **session);  // -o type=image,push=true, --push
  req->pusher = &pusher;
  auto result = build::Build(*req, secrets, *progress, &failure, GetLogger("build"));
  std::string failure_text = result.ok() ? "" : FailureText(failure, &*req, result.status());
  if (*mode == build::ProgressMode::kJson) {
    // CI systems read one JSON event per line: the error block is a "print" event too.
    std::stringstream lines(failure_text);
    for (std::string l; std::getline(lines, l);) progress->Print(l);
    failure_text.clear();
  }
  progress->Finish();  // plain/tty: prints the failed step's last output lines first
  bool cancelled = !result.ok() && result.status().code() == StatusCode::kCancelled;
  Status closed = (*session)->Close(result.ok() ? "completed" : cancelled ? "cancelled" : "failed");
  if (!result.ok()) {
    std::fputs(failure_text.c_str(), stderr);
    return cancelled && g_signal != 0 ? 128 + g_signal : kExitFailure;
  }
  if (!closed.ok()) return Fail(closed);
  if (!f.iidfile.empty()) {
    Status st = image::WriteFileAtomic(AbsolutePath(f.iidfile), result->image.config_digest, 0644);
    if (!st.ok()) return Fail(st);
  }
  if (!f.metadata_file.empty()) {
    Status st = image::WriteFileAtomic(AbsolutePath(f.metadata_file),
                                       MetadataJson(*result, build_ref) + "\n", 0644);
    if (!st.ok()) return Fail(st);
  }
  if (f.quiet) std::printf("%s\n", result->image.config_digest.c_str());
  // builder.gc, once the build no longer holds the state dir (skipped while others build). The
  // image is built: a failed GC is a warning, not a failed build.
  if (auto gc = RunConfiguredGc(*config, req->state_dir); !gc.ok()) {
    std::fprintf(stderr, "warning: builder.gc: %s\n", gc.status().message().c_str());
  }
  std::fputs(WarningSummary(result->warnings, *mode).c_str(), stderr);
  return kExitOk;
}

CommandRegistrar reg("build", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<BuildOptions>();
  auto* b = app.add_subcommand("build", "Build an image from a Dockerfile");
  AddBuildOptions(b, f.get());
  b->callback([f, &ctx] { ctx.exit_code = RunBuild(ctx, *f); });
});

}  // namespace
}  // namespace latchkey::cli
