// Self-registering subcommands for the `latchkey` binary.
//
// Each cli/<area>_cmd.cc defines a function that adds its subcommands to the CLI11 app and
// registers it with a file-scope `CommandRegistrar`. main.cc calls every registered function
// in name order. Command functions run their logic through callbacks that set the exit code in
// `CommandContext` (see docs/cli.md for the exit codes).
//
// Thread-safety: registration happens during static initialisation, before main; nothing here
// is touched after that.
#ifndef LATCHKEY_CLI_COMMAND_REGISTRY_H_
#define LATCHKEY_CLI_COMMAND_REGISTRY_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace latchkey::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (message on stderr)
inline constexpr int kExitUsage = 2;    // bad flags or arguments

// Options every command sees, parsed before the subcommand runs.
struct GlobalOptions {
  std::string config_path;  // --config; empty: $LATCHKEY_CONFIG, /etc/latchkey/latchkey.yaml
  // --log-format text|json and --log-level; "" = not given: the configuration's `log:`
  // section decides, else text / info.
  std::string log_format;
  std::string log_level;
  // --host unix:///path: run `build`, `images` and `image rm` through that latchkeyd
  // (docs/daemon.md); not given = $LATCHKEY_HOST, else the configuration's `host:`, else
  // embedded (no daemon). `--host ""` and `--host embedded` force embedded mode.
  std::string host;
  bool host_given = false;  // --host was on the command line (even as "")
};

struct CommandContext {
  GlobalOptions global;
  int exit_code = kExitOk;
};

using RegisterFn = std::function<void(CLI::App& app, CommandContext& ctx)>;

// Adds `fn` under `name` (used only for ordering and duplicate detection).
class CommandRegistrar {
 public:
  CommandRegistrar(const char* name, RegisterFn fn);
};

// Calls every registered function, in name order.
void RegisterAllCommands(CLI::App& app, CommandContext& ctx);

// Adds `name`, a command whose work is done by its subcommands (exactly one is required, as
// in `latchkey secret create`), to `app`; returns it for adding them.
CLI::App* AddCommandGroup(CLI::App& app, const std::string& name, const std::string& description);

// Adds --format table|json, bound to `*format` (which holds the default), to `sub`.
void AddFormatOption(CLI::App* sub, std::string* format,
                     const std::string& description = "Output format");

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_COMMAND_REGISTRY_H_
