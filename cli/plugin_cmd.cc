// `latchkey plugin check PLUGIN.so [--config KEY=VALUE]... [--ref REF --expect-file FILE]...
// [--threads N] [--cycles N] [--timeout SECONDS] [--json]`: runs the provider conformance suite
// (sdk/conformance/conformance.h; docs/plugin-abi.md) against one plugin, exactly as the
// standalone latchkey-plugin-check does. Prints one PASS/FAIL/SKIP line per check and
// "N passed, N failed[, N skipped]". Exit codes: 0 conformant, 1 a check failed, 2 usage.
//
// `latchkey plugin list` lists the configured providers as a session would load them.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "broker/plugin_loader.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "conformance.h"

namespace latchkey::cli {
namespace {

void AddCheck(CLI::App* plugin, CommandContext& ctx) {
  CLI::App* check = plugin->add_subcommand(
      "check", "Run the provider conformance suite against PLUGIN.so (see docs/plugin-abi.md)");
  // Everything after `check` belongs to the suite's own parser (--ref/--expect-file pair up by
  // order, which CLI11 options would not keep).
  check->prefix_command();
  check->set_help_flag();  // --help goes to the suite's parser too (its usage text)
  check->callback([check, &ctx] {
    std::vector<std::string> args = check->remaining();
    for (const std::string& a : args) {
      if (a == "--help" || a == "-h") {
        std::cout << conformance::ConformanceUsage("latchkey plugin check");
        ctx.exit_code = kExitOk;
        return;
      }
    }
    Result<conformance::ConformanceOptions> options = conformance::ParseConformanceArgs(args);
    if (!options.ok()) {
      std::cerr << "error: " << options.status().message() << "\n"
                << conformance::ConformanceUsage("latchkey plugin check");
      ctx.exit_code = kExitUsage;
      return;
    }
    conformance::ConformanceReport report = conformance::RunConformance(*options, std::cout);
    ctx.exit_code = report.ok() ? kExitOk : kExitFailure;
  });
}

std::string Capabilities(const lk_provider_api* api) {
  std::string caps;
  auto add = [&](uint64_t bit, const char* name) {
    if ((api->capabilities & bit) == 0) return;
    if (!caps.empty()) caps += ",";
    caps += name;
  };
  add(LK_CAP_LIST, "list");
  add(LK_CAP_HEALTH, "health");
  add(LK_CAP_VERSIONS, "versions");
  add(LK_CAP_DYNAMIC, "dynamic");
  return caps.empty() ? "-" : caps;
}

// `latchkey plugin list`: every configured provider, loaded and checked exactly as a session
// would load it (permissions, sha256 pin, ABI handshake). Exit 1 when any fails to load.
int RunList(const CommandContext& ctx) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  std::printf("%-10s %-9s %-5s %-11s %-24s %s\n", "NAME", "VERSION", "ABI", "THREADING",
              "CAPABILITIES", "PATH");
  int failures = 0;
  for (const auto& p : config->plugins) {
    PluginLoadOptions options;
    options.sha256_pin = p.sha256;
    auto lib = PluginLoader::Load(p.path, options);
    if (!lib.ok()) {
      ++failures;
      std::printf("%-10s %-9s %-5s %-11s %-24s %s\n    error: %s\n", p.name.c_str(), "-", "-", "-",
                  "-", p.path.c_str(), lib.status().message().c_str());
      continue;
    }
    const lk_provider_api* api = (*lib)->api();
    std::string abi =
        std::to_string(LK_ABI_MAJOR) + "." + std::to_string((*lib)->effective_minor());
    std::printf("%-10s %-9s %-5s %-11s %-24s %s\n", p.name.c_str(), (*lib)->version().c_str(),
                abi.c_str(),
                api->threading == LK_THREADING_SERIALIZED ? "serialized" : "concurrent",
                Capabilities(api).c_str(), p.path.c_str());
  }
  return failures == 0 ? kExitOk : kExitFailure;
}

CommandRegistrar reg("plugin", [](CLI::App& app, CommandContext& ctx) {
  CLI::App* plugin = AddCommandGroup(app, "plugin", "Inspect and check provider plugins");
  AddCheck(plugin, ctx);
  CLI::App* list = plugin->add_subcommand(
      "list", "List the configured providers, loaded and checked as a session would load them");
  list->callback([&ctx] { ctx.exit_code = RunList(ctx); });
});

}  // namespace
}  // namespace latchkey::cli
