// RunRemoteBuild: `latchkey build --host unix:///path` (docs/daemon.md, "The CLI as a
// client"). The flags were validated as in embedded mode (MakeBuildRequest); then the CLI
//   - connects (ConnectDaemon: "cannot reach latchkeyd at <host>[ (<origin>)]: <cause>"),
//   - reads the `--secret` file and env sources itself into SecretBuffers and parses the flags
//     against the daemon's providers (Info), so type=store etc. stay daemon-side sources,
//   - checks and prepares each -o destination that lands on the client (OutputReceiver:
//     the embedded build's errors, before anything is built),
//   - opens a session serving moby.buildkit.secrets.v1.Secrets (those values, handed out only
//     when a step of this build asks), latchkey.v1.ContextSync (the context directory with
//     .dockerignore applied: builder/solver/dockerignore.h, and each --build-context
//     directory: session/context_mux.h), with client-side outputs moby.filesync.v1.FileSend
//     (cli/output_receiver.h) and, with `--ssh`, moby.sshforward.v1.SSH
//     (session/ssh_service.h: the agents of this host; the Build names their ids, RUN
//     --mount=type=ssh steps reach them through the session), and moby.filesync.v1.Auth
//     (Credentials: this host's registry logins, cli/client_registry_logins.h, read only when
//     the daemon's build pulls or pushes),
//   - calls Build and replays its progress events into a local progress writer of the chosen
//     mode, then prints and writes what embedded mode does (ReportBuild), with its exit codes.
// Ctrl-C / SIGTERM cancel the call (the daemon kills the running step); the exit code is then
// 128 + the signal. A connection that breaks before the result: "error: latchkeyd connection
// lost", exit 1.
//
// Thread-safety: call from the main thread (it reads the process's environment and signals).
#ifndef LATCHKEY_CLI_REMOTE_BUILD_H_
#define LATCHKEY_CLI_REMOTE_BUILD_H_

#include <csignal>
#include <map>
#include <string>
#include <string_view>

#include "broker/config.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "cli/build_options.h"
#include "cli/daemon_client.h"

namespace latchkey::cli {

// `signal`: set by the command's signal handler (which also calls executor::RequestCancel).
// `config`: this host's configuration, whose registry sources answer the daemon's
// Credentials calls (cli/client_registry_logins.h).
int RunRemoteBuild(const HostChoice& host, const BuildOptions& options, build::ProgressMode mode,
                   const build::BuildRequest& request, const Config& config,
                   const volatile sig_atomic_t* signal);

// BuildKit's session shared key for a context directory: the SHA-256 (hex) of "<hostname>:<dir>",
// which also names the daemon's copy of the context.
std::string ContextKey(const std::string& context_dir);

// Replays `--progress json` events (progress.h) into `out`, mapping the sender's vertex numbers
// to `out`'s. Events that do not parse are ignored.
class ProgressReplay {
 public:
  explicit ProgressReplay(build::ProgressWriter& out) : out_(out) {}
  void Event(std::string_view json);

 private:
  build::ProgressWriter& out_;
  std::map<int, int> vertices_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REMOTE_BUILD_H_
