// RunBuildJob: one build against a started broker, from the broker session's opening to its
// closing: what `latchkey build` does in embedded mode (cli/build_cmd.cc) and what latchkeyd
// does for a Build call (cli/daemon_build_runner.h), so both modes run the same code.
//
// Steps: leftovers of dead builds in the builder state dir are recovered; a broker session is
// opened with `attrs` (build id, Dockerfile, context and labels filled in from `request`); the
// builder runs with that session (BrokerSecretSession) and a registry puller for missing base
// images; the session is closed as "completed", "failed" or "cancelled"; after a successful
// build the configuration's builder.gc runs. Progress goes to `progress`, which is NOT
// finished here (the caller prints its error block first in json mode, as buildx does).
//
// Thread-safety: one call per request; concurrent calls on one broker are safe (the broker's
// sessions and the builder's state dir are).
#ifndef LATCHKEY_CLI_BUILD_JOB_H_
#define LATCHKEY_CLI_BUILD_JOB_H_

#include <functional>
#include <memory>
#include <string>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/session.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "cli/build_options.h"
#include "latchkey/status.h"

namespace latchkey::cli {

struct BuildJobOutcome {
  // The build's result; CANCELLED when it was cancelled. Errors before the build started (the
  // recovery's, the session's Open) are here too, with `started` false.
  Result<build::BuildResult> result = Status(StatusCode::kUnknown, "not run");
  bool started = false;
  build::BuildFailure failure;  // where a failed build failed
  std::string build_ref;        // "latchkey/local/<build id>"
  Status closed;                // the session's Close
  std::string gc_warning;       // builder.gc's error after a successful build, "" when none
};

// Where a build's broker session comes from: an embedded build's Broker, or latchkeyd's
// BrokerHost (a session on its current generation, so a SIGHUP reload reaches the next build).
struct JobBroker {
  audit::AuditLog* audit = nullptr;  // not owned
  std::function<Result<std::shared_ptr<Session>>(SessionAttributes)> open;

  static JobBroker Of(Broker& broker) {
    return {&broker.audit(),
            [&broker](SessionAttributes a) { return broker.sessions().Open(std::move(a)); }};
  }
};

// `request` is changed: its puller and pusher are set for the call (and cleared before
// returning).
// `attrs`: the caller's (uid, user, declared secrets, environment, peer, client_secrets).
BuildJobOutcome RunBuildJob(const JobBroker& broker, const Config& config,
                            build::BuildRequest& request, SessionAttributes attrs,
                            build::ProgressWriter& progress);

// What `latchkey build` prints and writes once a build ended, in both modes: the error block
// (as "print" events in json mode), progress.Finish(), then for a built image --iidfile,
// --metadata-file, the id with -q, the builder.gc warning and the warnings summary. Returns
// the exit code: 0; 1 for a failed build (or a failed close or file write: "error: ..."); 128 +
// `signal` for a build cancelled by that signal (0: none). `request` supplies the Dockerfile
// for the error snippet.
int ReportBuild(const BuildOptions& options, build::ProgressMode mode,
                const build::BuildRequest& request, const BuildJobOutcome& job,
                build::ProgressWriter& progress, int signal);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BUILD_JOB_H_
