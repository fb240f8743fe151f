// The CLI as latchkeyd's client (docs/daemon.md, "The CLI as a client"): which daemon a command
// uses (--host, $LATCHKEY_HOST) and the connection to it.
//
// Thread-safety: pure functions, apart from ConnectDaemon's connect(2) probe.
#ifndef LATCHKEY_CLI_DAEMON_CLIENT_H_
#define LATCHKEY_CLI_DAEMON_CLIENT_H_

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "cli/command_registry.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// The environment variable naming the daemon when --host is not given.
inline constexpr char kHostEnvVar[] = "LATCHKEY_HOST";

// Adds --host to a subcommand that can run through latchkeyd (build, images, image rm), bound
// to `global->host` (so `latchkey build --host X` and `latchkey --host X build` are the same).
void AddHostOption(CLI::App* sub, GlobalOptions* global);

// The daemon a command uses: --host, else $LATCHKEY_HOST (when non-empty); "" = embedded
// mode.
std::string DaemonHost(const GlobalOptions& global);

// "unix:///run/x.sock" -> "/run/x.sock". INVALID_ARGUMENT
// "invalid --host <addr>: want unix:///absolute/path".
Result<std::string> ParseHost(const std::string& host);

// A channel to the daemon at `host`, after a connect(2) probe so that an unreachable daemon is
// reported at once and clearly: UNAVAILABLE "cannot reach latchkeyd at <host>: <strerror>"
// ("No such file or directory", "Connection refused", "Permission denied"); ParseHost's error
// for a malformed host.
Result<std::shared_ptr<grpc::Channel>> ConnectDaemon(const std::string& host);

// The text of a daemon call that failed: the message for a status the daemon sent, UNAVAILABLE
// "latchkeyd connection lost" when the connection broke (the daemon died or restarted).
Status DaemonCallError(const grpc::Status& status);

// `latchkey images` through the daemon: the same table as embedded mode. Exit code.
int RunRemoteImages(const std::string& host, bool no_trunc);
// `latchkey image rm REF` through the daemon: "Untagged: <ref>" (the daemon frees storage at
// its next GC). Exit code; the daemon's error text ("error: image ... is not in the local
// store ...").
int RunRemoteRemove(const std::string& host, const std::string& ref);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_DAEMON_CLIENT_H_
