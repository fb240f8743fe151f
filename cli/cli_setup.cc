#include "cli/cli_setup.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>

#include "broker/logging.h"
#include "secure/hardening.h"

extern char** environ;

namespace latchkey::cli {

Status InitProcess(const GlobalOptions& global) {
  LK_ASSIGN_OR_RETURN(HardeningReport report, HardenProcess());
  LogOptions log;
  log.format = global.log_format.empty() ? "text" : global.log_format;
  log.level = global.log_level.empty() ? "info" : global.log_level;
  LK_RETURN_IF_ERROR(InitLogging(log));
  GetLogger("latchkey")->debug("{}", report.log_line);
  return Status::OK();
}

Result<Config> LoadProcessConfig(const GlobalOptions& global) {
  LK_ASSIGN_OR_RETURN(Config config, ResolveConfig(global.config_path, ConfigContextFromProcess()));
  // The configuration's `log:` section applies where no flag was given.
  if (global.log_format.empty() || global.log_level.empty()) {
    LogOptions log;
    log.format = global.log_format.empty() ? config.log.format : global.log_format;
    log.level = global.log_level.empty() ? config.log.level : global.log_level;
    LK_RETURN_IF_ERROR(InitLogging(log));
  }
  return config;
}

std::string BuilderStateDir(const Config& config) {
  if (!config.builder.state_dir.empty()) return config.builder.state_dir;
  return config.state_dir + "/builder";
}

Result<std::string> ProcessBuilderStateDir(const GlobalOptions& global) {
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(global));
  return BuilderStateDir(config);
}

EnvNames ProcessEnvNames() { return SnapshotEnvNames(environ); }

Result<std::shared_ptr<const SecretBuffer>> ProcessEnvironment() {
  size_t total = 0;
  for (char** e = environ; *e != nullptr; ++e) total += std::strlen(*e) + 1;
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(total));
  uint8_t* p = buf.mutable_data();
  for (char** e = environ; *e != nullptr; ++e) {
    size_t len = std::strlen(*e) + 1;  // with the NUL separator
    std::memcpy(p, *e, len);
    p += len;
  }
  buf.Seal();
  return std::make_shared<const SecretBuffer>(std::move(buf));
}

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return kExitFailure;
}

void OnRunHardened(CLI::App* sub, CommandContext& ctx, std::function<int()> run) {
  sub->callback([&ctx, run = std::move(run)] { ctx.exit_code = Hardened(run); });
}

int Usage(const std::string& msg) {
  std::fprintf(stderr, "error: %s\n", msg.c_str());
  return kExitUsage;
}

int FailFlags(const Status& status) {
  Fail(status);
  return status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace latchkey::cli
