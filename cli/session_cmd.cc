// `latchkey session check`: a preflight for a build's secrets. Opens a real broker session
// with the given --secret flags, fetches each requested id through policy, the provider and
// the audit log exactly as a build step would, and prints what each fetch got -- sizes and
// value fingerprints, never values.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/audit/audit_keys.h"
#include "broker/broker.h"
#include "broker/secret_flags.h"
#include "cli/caller_session.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"

namespace latchkey::cli {
namespace {

struct CheckOptions {
  std::vector<std::string> secrets;
  std::vector<std::string> fetch;
  std::vector<std::string> labels;
  std::string dockerfile;
  std::string context;
};

int RunCheck(const CommandContext& ctx, const CheckOptions& opts) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  auto broker = Broker::Start(*config);
  if (!broker.ok()) return Fail(broker.status());
  SessionAttributes attrs;
  if (Status st = SetCallerAttributes(**broker, opts.secrets, &attrs); !st.ok()) return Fail(st);
  attrs.build_id = "session-check";
  attrs.dockerfile = opts.dockerfile;
  attrs.context = opts.context;
  for (const auto& kv : opts.labels) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      return Fail(InvalidArgumentError("--label " + kv + ": want key=value"));
    }
    attrs.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<std::string> ids = opts.fetch;
  if (ids.empty()) {
    for (const auto& src : attrs.declared) ids.push_back(src.id);
  }
  auto session = (*broker)->sessions().Open(std::move(attrs));
  if (!session.ok()) return Fail(session.status());

  int failures = 0;
  uint32_t index = 0;
  for (const auto& id : ids) {
    StepContext step{"session-check", index++, 0, "latchkey session check --fetch " + id};
    auto view = (*session)->Fetch(id, step);
    if (!view.ok()) {
      ++failures;
      std::printf("%-9s %s: %s\n", "FAILED", id.c_str(), view.status().message().c_str());
      continue;
    }
    std::string version = view->version().empty() ? "" : " version " + view->version();
    std::printf("%-9s %s: %zu bytes from provider %s%s\n", "GRANTED", id.c_str(), view->size(),
                view->provider().c_str(), version.c_str());
  }
  Status closed = (*session)->Close(failures == 0 ? "completed" : "failed");
  if (!closed.ok()) return Fail(closed);
  std::printf("session %s closed; audit log: %s\n", (*session)->id().c_str(),
              (*broker)->config().audit.path.c_str());
  return failures == 0 ? kExitOk : kExitFailure;
}

CommandRegistrar reg("session", [](CLI::App& app, CommandContext& ctx) {
  auto* session = AddCommandGroup(app, "session", "Broker sessions");
  auto opts = std::make_shared<CheckOptions>();
  auto* check = session->add_subcommand(
      "check",
      "Open a session with --secret sources, fetch secrets through policy, providers and the "
      "audit log as a build would, and print what each fetch got (never the values)");
  check->add_option("--secret", opts->secrets,
                    "Secret source: id=ID[,type=file|env|PROVIDER][,src=PATH|REF][,env=VAR]");
  check->add_option("--fetch", opts->fetch, "Secret id to fetch (default: every --secret id)");
  check->add_option("--label", opts->labels, "Build label key=value, for policy");
  check->add_option("--dockerfile", opts->dockerfile, "Dockerfile path, for policy");
  check->add_option("--context", opts->context, "Build context path, for policy");
  check->callback([&ctx, opts] { ctx.exit_code = RunCheck(ctx, *opts); });
});

}  // namespace
}  // namespace latchkey::cli
