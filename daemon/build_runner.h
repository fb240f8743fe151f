// BuildRunner: what latchkeyd's Build call runs once the client's context is on the daemon's
// side (daemon/build_call.h). The daemon library does not build: latchkeyd's main wires an
// implementation that runs the same code as `latchkey build` (cli/daemon_build_runner.h,
// through cli/build_job.h), with the daemon's broker, state dir, cache and audit log.
//
// Thread-safety: Run is called concurrently, once per Build call, each on its own thread.
#ifndef LATCHKEY_DAEMON_BUILD_RUNNER_H_
#define LATCHKEY_DAEMON_BUILD_RUNNER_H_

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/latchkey/v1/control.pb.h"
#include "builder/executor/agent_dialer.h"
#include "builder/solver/progress.h"
#include "daemon/broker_host.h"
#include "daemon/peer.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::daemon {

// One Build call, as the runner sees it.
struct DaemonBuild {
  const latchkey::v1::BuildRequest* request = nullptr;  // as the client sent it
  std::string context_dir;  // the daemon's up-to-date copy of the client's context
  // request->build_contexts' names -> the daemon's up-to-date copy of each directory.
  std::map<std::string, std::string> build_context_dirs;
  std::string dockerfile_path;   // request->dockerfile written on the daemon's side
  std::optional<PeerCred> peer;  // the caller (SO_PEERCRED); unset when unknown
  // The daemon's broker (not owned): the build's session opens on its current generation, so
  // a SIGHUP reload (policy, providers, secrets map) reaches every build started after it.
  BrokerHost* broker = nullptr;
  // A directory of this call's own (removed after the call): client-side outputs are written
  // here before they are sent.
  std::string job_dir;
  // Sends the output written at `path` (a file or a directory) to the client's session as
  // output `index` of request->outputs (daemon/output_send.h).
  std::function<Status(size_t index, const std::string& path)> send_output;
  // Asks the client's session for a secret (the broker's provider "client").
  std::function<Result<SecretBuffer>(const std::string& secret_id,
                                     std::chrono::steady_clock::time_point deadline)>
      client_secrets;
  // Asks the client's session for its registry login for `host` (session_registry_auth.h: a
  // credential helper's JSON; NOT_FOUND when it has none): the broker's provider "client" of
  // `registry:<host>` (SessionAttributes::client_registry). Unset when the session does not
  // serve moby.filesync.v1.Auth/Credentials (an older or non-latchkey client): the daemon's own
  // credentials then serve every pull and push.
  std::function<Result<SecretBuffer>(const std::string& host,
                                     std::chrono::steady_clock::time_point deadline)>
      client_registry;
  // The client's ssh agents (request->ssh_ids), reached over the build's session
  // (session_agent_dialer.h); the build's RUN --mount=type=ssh steps use it.
  std::shared_ptr<executor::AgentDialer> ssh_agents;
};

class BuildRunner {
 public:
  virtual ~BuildRunner() = default;
  // Runs the build on the calling thread (under the call's CancelScope: a cancelled call
  // cancels it), reporting to `progress` (not finished here). A non-OK status means the request
  // was refused before any build started (a bad field: the CLI's flag texts; the broker session
  // could not open) and becomes the call's status; otherwise `result` says how the build went.
  virtual Status Run(const DaemonBuild& build, build::ProgressWriter& progress,
                     latchkey::v1::BuildResult* result) = 0;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_BUILD_RUNNER_H_
