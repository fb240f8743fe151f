#include "cli/command_registry.h"

#include <cstdio>
#include <cstdlib>
#include <map>

namespace latchkey::cli {
namespace {

std::map<std::string, RegisterFn>& Registry() {
  static auto* registry = new std::map<std::string, RegisterFn>();  // never destroyed
  return *registry;
}

}  // namespace

CommandRegistrar::CommandRegistrar(const char* name, RegisterFn fn) {
  if (!Registry().emplace(name, std::move(fn)).second) {
    std::fprintf(stderr, "latchkey: command %s registered twice\n", name);
    std::abort();
  }
}

void RegisterAllCommands(CLI::App& app, CommandContext& ctx) {
  for (auto& [name, fn] : Registry()) fn(app, ctx);
}

CLI::App* AddCommandGroup(CLI::App& app, const std::string& name, const std::string& description) {
  CLI::App* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

void AddFormatOption(CLI::App* sub, std::string* format, const std::string& description) {
  sub->add_option("--format", *format, description)->check(CLI::IsMember({"table", "json"}));
}

}  // namespace latchkey::cli
