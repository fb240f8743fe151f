#include "cli/build_job.h"

#include <cstdio>
#include <sstream>
#include <utility>

#include "broker/logging.h"
#include "builder/image/fs_util.h"
#include "cli/broker_secret_session.h"
#include "cli/build_report.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/gc_flags.h"
#include "cli/registry_image_puller.h"
#include "cli/registry_image_pusher.h"
#include "cli/state_recovery_setup.h"

namespace latchkey::cli {

BuildJobOutcome RunBuildJob(const JobBroker& broker, const Config& config,
                            build::BuildRequest& request, SessionAttributes attrs,
                            build::ProgressWriter& progress) {
  BuildJobOutcome out;
  // What builds that died left behind (mounts holding secrets, containers, temp dirs) goes
  // before anything else touches the state dir; live concurrent builds are left alone.
  if (Status st = RecoverBuilderState(config, request.state_dir, request.runtime, broker.audit);
      !st.ok()) {
    out.result = st;
    return out;
  }
  attrs.build_id = NewSessionId();
  out.build_ref = "latchkey/local/" + attrs.build_id;
  attrs.dockerfile = request.dockerfile_path;
  attrs.context = request.context_dir;
  attrs.labels = request.labels;
  auto session = broker.open(std::move(attrs));
  if (!session.ok()) {
    out.result = session.status();
    return out;
  }
  out.started = true;
  BrokerSecretSession secrets(**session, *broker.audit);
  // FROM images the store lacks; --pull. Credentials: the session's `registry:<host>`.
  RegistryImagePuller puller(config, **session);
  request.puller = &puller;
  RegistryImagePusher pusher(config, **session);  // -o type=image,push=true, --push
  request.pusher = &pusher;
  out.result = build::Build(request, secrets, progress, &out.failure, GetLogger("build"));
  request.puller = nullptr;
  request.pusher = nullptr;
  bool cancelled = !out.result.ok() && out.result.status().code() == StatusCode::kCancelled;
  out.closed = (*session)->Close(out.result.ok() ? "completed"
                                 : cancelled     ? "cancelled"
                                                 : "failed");
  if (out.result.ok() && out.closed.ok()) {
    // builder.gc, once the build no longer holds the state dir (skipped while others build).
    // The image is built: a failed GC is a warning, not a failed build.
    if (auto gc = RunConfiguredGc(config, request.state_dir); !gc.ok()) {
      out.gc_warning = gc.status().message();
    }
  }
  return out;
}

int ReportBuild(const BuildOptions& f, build::ProgressMode mode, const build::BuildRequest& request,
                const BuildJobOutcome& job, build::ProgressWriter& progress, int signal) {
  const Result<build::BuildResult>& result = job.result;
  std::string failure_text = result.ok() ? "" : FailureText(job.failure, &request, result.status());
  if (mode == build::ProgressMode::kJson) {
    // CI systems read one JSON event per line: the error block is a "print" event too.
    std::stringstream lines(failure_text);
    for (std::string l; std::getline(lines, l);) progress.Print(l);
    failure_text.clear();
  }
  progress.Finish();  // plain/tty: prints the failed step's last output lines first
  bool cancelled = !result.ok() && result.status().code() == StatusCode::kCancelled;
  if (!result.ok()) {
    std::fputs(failure_text.c_str(), stderr);
    return cancelled && signal != 0 ? 128 + signal : kExitFailure;
  }
  if (!job.closed.ok()) return Fail(job.closed);
  if (!f.iidfile.empty()) {
    Status st = image::WriteFileAtomic(AbsolutePath(f.iidfile), result->image.config_digest, 0644);
    if (!st.ok()) return Fail(st);
  }
  if (!f.metadata_file.empty()) {
    Status st = image::WriteFileAtomic(AbsolutePath(f.metadata_file),
                                       MetadataJson(*result, job.build_ref) + "\n", 0644);
    if (!st.ok()) return Fail(st);
  }
  if (f.quiet) std::printf("%s\n", result->image.config_digest.c_str());
  if (!job.gc_warning.empty()) {
    std::fprintf(stderr, "warning: builder.gc: %s\n", job.gc_warning.c_str());
  }
  std::fputs(WarningSummary(result->warnings, mode).c_str(), stderr);
  return kExitOk;
}

}  // namespace latchkey::cli
