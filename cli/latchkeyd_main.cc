// `latchkeyd`: the daemon's main: flag parsing and wiring only (daemon/daemon.h does the work;
// docs/daemon.md). Exit codes: 0 after SIGTERM/SIGINT, 1 when it cannot start (`error:
// <message>` on stderr), 2 for bad flags.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "broker/audit/audit_keys.h"
#include "broker/audit_locations.h"
#include "broker/logging.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/daemon_build_runner.h"
#include "cli/version.h"
#include "daemon/daemon.h"
#include "daemon/listener.h"

namespace latchkey::cli {
namespace {

constexpr char kDefaultListen[] = "unix:///run/latchkey/latchkeyd.sock";

struct DaemonFlags {
  GlobalOptions global;
  std::string state_dir;
  std::string listen = kDefaultListen;
};

// The signing key id of the audit log's key pair, "" when no key pair exists yet.
std::string AuditKeyId(const Config& config, const std::string& state_dir_flag) {
  AuditLocations loc = ResolveAuditLocations(config, state_dir_flag);
  if (::access(loc.keys.public_key.c_str(), F_OK) != 0) return "";
  auto key = audit::LoadPublicKey(loc.keys.public_key);
  return key.ok() ? audit::KeyId(*key) : "";
}

int Run(const DaemonFlags& f) {
  // Signals are taken by sigwait in this thread only: block them before any thread starts.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  if (Status st = InitProcess(f.global); !st.ok()) return Fail(st);
  auto config = LoadProcessConfig(f.global);
  if (!config.ok()) return Fail(config.status());
  auto socket_path = daemon::ParseListenAddress(f.listen);
  if (!socket_path.ok()) {
    std::fprintf(stderr, "error: %s\n", socket_path.status().message().c_str());
    return kExitUsage;
  }

  daemon::DaemonOptions opts;
  opts.socket_path = *socket_path;
  opts.info.version = VersionLine();
  opts.info.state_dir = f.state_dir.empty() ? config->state_dir : f.state_dir;
  // --state-dir moves everything, the builder's state included (as `latchkey image --state-dir`
  // does for the image store); without it the configuration decides.
  opts.builder_state_dir =
      f.state_dir.empty() ? BuilderStateDir(*config) : f.state_dir + "/builder";
  for (const auto& p : config->plugins) opts.info.providers.push_back(p.name);
  opts.info.audit_signing_key_id = AuditKeyId(*config, f.state_dir);

  // Builds run with the daemon's broker (audit log, providers, policy) and builder state.
  if (!f.state_dir.empty()) {
    // --state-dir moves the audit log and its keys too (as `latchkey audit --state-dir`).
    AuditLocations loc = ResolveAuditLocations(*config, f.state_dir);
    config->state_dir = loc.state_dir;
    config->audit.path = loc.log;
    config->audit.signing_key_file = loc.keys.signing;
    config->audit.hmac_key_file = loc.keys.hmac;
  }
  auto builds = DaemonBuildRunner::Start(*config, opts.builder_state_dir);
  if (!builds.ok()) return Fail(builds.status());
  opts.builds = builds->get();

  auto d = daemon::Daemon::Start(opts);
  if (!d.ok()) return Fail(d.status());
  auto log = GetLogger("latchkeyd");
  log->info("listening on unix://{} (pid {}, state dir {})", (*d)->socket_path(), ::getpid(),
            opts.info.state_dir);

  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  log->info("{} received, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*d)->Shutdown();
  log->info("stopped");
  return kExitOk;
}

}  // namespace
}  // namespace latchkey::cli

int main(int argc, char** argv) {
  using namespace latchkey::cli;
  DaemonFlags f;
  CLI::App app{"latchkeyd: the latchkey daemon (image store, builds and secrets broker over gRPC)"};
  app.set_version_flag("--version", VersionLine(), "Print the version and git commit, then exit");
  app.add_option("--config", f.global.config_path, "Configuration file (YAML)");
  app.add_option("--state-dir", f.state_dir,
                 "State directory (default: the configuration's state_dir)");
  app.add_option("--listen", f.listen, "Address to serve on: unix:///absolute/path")
      ->capture_default_str();
  app.add_option("--log-format", f.global.log_format, "Operational log format (text or json)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", f.global.log_level, "Operational log level")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return Run(f);
}
