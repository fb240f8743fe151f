// `latchkey dockerfile dump FILE` and `latchkey dockerfile outline FILE ...`: inspect a
// Dockerfile without building it. Exit codes: 0 ok, 1 the file cannot be read or parsed
// (`error: <file>:<line>: <message>` on stderr), 2 usage.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "builder/frontend/dump.h"
#include "builder/frontend/lint.h"
#include "builder/frontend/outline.h"
#include "builder/frontend/parser.h"
#include "cli/command_registry.h"

namespace latchkey::cli {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "error: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

int RunDump(const std::string& path) {
  std::string text;
  if (!ReadFile(path, &text)) return kExitFailure;
  auto parsed = frontend::Parse(text, path);
  if (!parsed.ok()) {
    std::cerr << "error: " << parsed.status().message() << "\n";
    return kExitFailure;
  }
  Status names = frontend::CheckInstructionNames(*parsed, path);
  if (!names.ok()) {
    std::cerr << "error: " << names.message() << "\n";
    return kExitFailure;
  }
  std::cout << frontend::Dump(*parsed);
  return kExitOk;
}

int RunOutline(const std::string& path, const std::string& target,
               const std::vector<std::string>& build_args, const std::string& format) {
  std::string text;
  if (!ReadFile(path, &text)) return kExitFailure;
  frontend::OutlineOptions opts;
  opts.filename = path;
  opts.target = target;
  for (const std::string& kv : build_args) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: invalid --build-arg " << kv << ": expected KEY=VALUE\n";
      return kExitUsage;
    }
    opts.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto outline = frontend::OutlineDockerfile(text, opts);
  if (!outline.ok()) {
    std::cerr << "error: " << outline.status().message() << "\n";
    return kExitFailure;
  }
  for (const frontend::LintWarning& w : outline->warnings) {
    std::cerr << "warning: " << frontend::FormatLintWarning(w, path) << "\n";
  }
  std::cout << (format == "json" ? frontend::OutlineToJson(*outline)
                                 : frontend::OutlineToTable(*outline));
  return kExitOk;
}

void Register(CLI::App& app, CommandContext& ctx) {
  auto* df = AddCommandGroup(app, "dockerfile", "Inspect a Dockerfile without building it");

  auto* dump = df->add_subcommand("dump", "Print the parsed syntax tree (BuildKit format)");
  static std::string dump_file_storage;
  auto* dump_file = &dump_file_storage;
  dump->add_option("FILE", *dump_file, "Dockerfile")->required();
  dump->callback([&ctx, dump_file] { ctx.exit_code = RunDump(*dump_file); });

  auto* outline = df->add_subcommand(
      "outline", "List the build args and secrets the selected target can request");
  struct OutlineFlags {
    std::string file;
    std::string target;
    std::vector<std::string> build_args;
    std::string format = "table";
  };
  static OutlineFlags of_storage;
  auto* of = &of_storage;
  outline->add_option("FILE", of->file, "Dockerfile")->required();
  outline->add_option("--target", of->target, "Build stage to outline (default: the last)");
  outline->add_option("--build-arg", of->build_args, "Build argument KEY=VALUE (repeatable)");
  AddFormatOption(outline, &of->format);
  outline->callback(
      [&ctx, of] { ctx.exit_code = RunOutline(of->file, of->target, of->build_args, of->format); });
}

CommandRegistrar reg("dockerfile", Register);

}  // namespace
}  // namespace latchkey::cli
