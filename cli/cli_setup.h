// Start-up shared by the commands that use the broker: process hardening, the operational log,
// the configuration, and snapshots of the caller's environment.
#ifndef LATCHKEY_CLI_CLI_SETUP_H_
#define LATCHKEY_CLI_CLI_SETUP_H_

#include <functional>
#include <memory>
#include <string>

#include "broker/config.h"
#include "broker/config_env.h"
#include "cli/command_registry.h"
#include "latchkey/status.h"
#include "secure/hardening.h"
#include "secure/secret_buffer.h"

namespace latchkey::cli {

// Hardens the process and installs the redacting operational log. Call first in a command.
Status InitProcess(const GlobalOptions& global);

// --config, else $LATCHKEY_CONFIG, else /etc/latchkey/latchkey.yaml, else defaults.
Result<Config> LoadProcessConfig(const GlobalOptions& global);

// The builder's state directory (image store, blobs, layer and build caches): the config's
// `builder.state_dir`, else "<state_dir>/builder".
std::string BuilderStateDir(const Config& config);

// BuilderStateDir of the process configuration (LoadProcessConfig).
Result<std::string> ProcessBuilderStateDir(const GlobalOptions& global);

// The names of the variables set in this process's environment.
EnvNames ProcessEnvNames();

// This process's environment in /proc/self/environ form (NAME=VALUE\0...), in secure memory.
Result<std::shared_ptr<const SecretBuffer>> ProcessEnvironment();

// Prints "error: <message>" to stderr and returns kExitFailure.
int Fail(const Status& status);

// Disables core dumps (for commands that hold keys or secrets in memory) before running `run`; the
// exit code is run's, or kExitFailure with "error: <message>" when hardening fails.
template <typename F>
int Hardened(F run) {
  auto report = HardenProcess();
  if (!report.ok()) return Fail(report.status());
  return run();
}

// Makes `sub` set ctx.exit_code to Hardened(run) when it is the command given. `ctx` must
// outlive the parse.
void OnRunHardened(CLI::App* sub, CommandContext& ctx, std::function<int()> run);

// Prints "error: <msg>" to stderr and returns kExitUsage.
int Usage(const std::string& msg);

// For a flag's validation error: prints "error: <message>" to stderr and returns kExitUsage
// when the code is INVALID_ARGUMENT, else kExitFailure.
int FailFlags(const Status& status);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_CLI_SETUP_H_
