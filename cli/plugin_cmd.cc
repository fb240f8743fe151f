// `latchkey plugin check PLUGIN.so [--config KEY=VALUE]... [--ref REF --expect-file FILE]...
// [--threads N] [--cycles N] [--timeout SECONDS] [--json]`: runs the provider conformance suite
// (sdk/conformance/conformance.h; docs/plugin-abi.md) against one plugin, exactly as the
// standalone latchkey-plugin-check does. Prints one PASS/FAIL/SKIP line per check and
// "N passed, N failed[, N skipped]". Exit codes: 0 conformant, 1 a check failed, 2 usage.
//
// `latchkey plugin list` lists the configured providers as a session would load them, with
// their isolation mode: an inline provider is loaded here, a process-isolated one only in a
// latchkey-provider-host (it is never loaded into latchkey itself).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "broker/plugin_loader.h"
#include "broker/process_conformance.h"
#include "broker/provider_process.h"
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
    // The suite runs in process and then through latchkey-provider-host (process isolation).
    std::string host = HostNextToExecutable();
    options->extra_suite = [host](const conformance::ConformanceOptions& o,
                                  const std::vector<std::vector<uint8_t>>& expected) {
      return RunProcessConformance(o, expected, host);
    };
    conformance::ConformanceReport report = conformance::RunConformance(*options, std::cout);
    ctx.exit_code = report.ok() ? kExitOk : kExitFailure;
  });
}

std::string Capabilities(uint64_t capabilities) {
  std::string caps;
  auto add = [&](uint64_t bit, const char* name) {
    if ((capabilities & bit) == 0) return;
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
// would load it (permissions, sha256 pin, ABI handshake; a process-isolated one in its host).
// Exit 1 when any fails to load.
int RunList(const CommandContext& ctx) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  const char* row = "%-10s %-9s %-5s %-11s %-9s %-24s %s\n";
  std::printf(row, "NAME", "VERSION", "ABI", "THREADING", "ISOLATION", "CAPABILITIES", "PATH");
  int failures = 0;
  for (const auto& p : config->plugins) {
    const char* isolation = IsolationName(p.isolation);
    PluginProbe probe;
    Status loaded;
    if (p.isolation == Isolation::kProcess) {
      auto r = ProbePlugin(p.name, config->provider_host, p.path, p.sha256, config->fetch_timeout);
      if (r.ok()) probe = std::move(*r);
      loaded = r.status();
    } else {
      PluginLoadOptions options;
      options.sha256_pin = p.sha256;
      auto lib = PluginLoader::Load(p.path, options);
      if (lib.ok()) {
        probe.version = (*lib)->version();
        probe.abi_minor = (*lib)->effective_minor();
        probe.threading = (*lib)->api()->threading;
        probe.capabilities = (*lib)->api()->capabilities;
      }
      loaded = lib.status();
    }
    if (!loaded.ok()) {
      ++failures;
      std::printf(row, p.name.c_str(), "-", "-", "-", isolation, "-", p.path.c_str());
      std::printf("    error: %s\n", loaded.message().c_str());
      continue;
    }
    std::string abi = std::to_string(LK_ABI_MAJOR) + "." + std::to_string(probe.abi_minor);
    std::printf(row, p.name.c_str(), probe.version.c_str(), abi.c_str(),
                probe.threading == LK_THREADING_SERIALIZED ? "serialized" : "concurrent", isolation,
                Capabilities(probe.capabilities).c_str(), p.path.c_str());
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
