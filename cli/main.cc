// `latchkey`: flag parsing and wiring only; every subcommand lives in a cli/*_cmd.cc file.
#include <CLI/CLI.hpp>

#include "cli/command_registry.h"
#include "cli/daemon_client.h"
#include "cli/version.h"

int main(int argc, char** argv) {
  using namespace latchkey::cli;
  CommandContext ctx;
  CLI::App app{"latchkey: build container images with secrets that never land in a layer"};
  app.set_version_flag("--version", VersionLine(), "Print the version and git commit, then exit");
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.add_option("--config", ctx.global.config_path, "Configuration file (YAML)");
  app.add_option("--log-format", ctx.global.log_format,
                 "Operational log format (default: the config's log.format, else text)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", ctx.global.log_level,
                 "Operational log level (default: the config's log.level, else info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  AddHostOption(&app, &ctx.global);
  RegisterAllCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return ctx.exit_code;
}
