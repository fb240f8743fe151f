// The CLI as latchkeyd's client (docs/daemon.md, "The CLI as a client"): which daemon a command
// uses (--host, $LATCHKEY_HOST, the configuration's `host:`) and the connection to it.
//
// Thread-safety: pure functions, apart from ConnectDaemon's connect(2) probe.
#ifndef LATCHKEY_CLI_DAEMON_CLIENT_H_
#define LATCHKEY_CLI_DAEMON_CLIENT_H_

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "broker/config.h"
#include "cli/build_options.h"
#include "cli/command_registry.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// The environment variable naming the daemon when --host is not given.
inline constexpr char kHostEnvVar[] = "LATCHKEY_HOST";

// The value of --host, $LATCHKEY_HOST or `host:` that means "no daemon".
inline constexpr char kEmbeddedHost[] = "embedded";

// Adds --host to `app` or to a subcommand that can run through latchkeyd (build, images, image
// rm), bound to `global->host` and `global->host_given` (so `latchkey build --host X` and
// `latchkey --host X build` are the same).
void AddHostOption(CLI::App* app, GlobalOptions* global);

// Which daemon a command uses, and which setting said so.
struct HostChoice {
  std::string host;  // "unix:///path"; "" = embedded mode
  // Where a daemon host came from, for messages: "" for --host and $LATCHKEY_HOST (their texts
  // name the value only), "host: in <file>:<line>:<col>" for the configuration's.
  std::string origin;
};

// The first source that is set wins: --host (given, even as ""), $LATCHKEY_HOST (when not
// empty), the configuration's `host:`, else embedded. The value "embedded" (and `--host ""`)
// selects embedded mode, whatever the later sources say.
HostChoice ChooseHost(const GlobalOptions& global, const Config& config, const EnvLookup& env);

// ChooseHost for commands that have not loaded the configuration: it is loaded
// (LoadProcessConfig) only when neither --host nor $LATCHKEY_HOST decides; its error
// otherwise.
Result<HostChoice> ChooseHost(const GlobalOptions& global);

// True when --host or $LATCHKEY_HOST names a daemon (not embedded): what `--builder docker`
// refuses (cli/builder_choice.h). The configuration's `host:` is not an explicit choice.
bool ExplicitDaemonHost(const GlobalOptions& global, const EnvLookup& env);

// "unix:///run/x.sock" -> "/run/x.sock". INVALID_ARGUMENT
// "invalid --host <addr>: want unix:///absolute/path".
Result<std::string> ParseHost(const std::string& host);

// A channel to the daemon at `host`, after a connect(2) probe so that an unreachable daemon is
// reported at once and clearly: UNAVAILABLE "cannot reach latchkeyd at <host>: <strerror>"
// ("No such file or directory", "Connection refused", "Permission denied"); with a non-empty
// `origin` (HostChoice::origin): "cannot reach latchkeyd at <host> (<origin>): <strerror>".
// ParseHost's error for a malformed host.
Result<std::shared_ptr<grpc::Channel>> ConnectDaemon(const std::string& host,
                                                     const std::string& origin = "");

// The text of a daemon call that failed: the message for a status the daemon sent, UNAVAILABLE
// "latchkeyd connection lost" when the connection broke (the daemon died or restarted).
Status DaemonCallError(const grpc::Status& status);

// `latchkey images` through the daemon: the same table as embedded mode. Exit code.
int RunRemoteImages(const HostChoice& host, bool no_trunc);
// `latchkey image rm REF` through the daemon: "Untagged: <ref>" (the daemon frees storage at
// its next GC). Exit code; the daemon's error text ("error: image ... is not in the local
// store ...").
int RunRemoteRemove(const HostChoice& host, const std::string& ref);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_DAEMON_CLIENT_H_
