// `latchkeyd`: the daemon's main: flag parsing and wiring only (daemon/daemon.h does the work;
// docs/daemon.md). Exit codes: 0 after SIGTERM/SIGINT, 1 when it cannot start (`error:
// <message>` on stderr), 2 for bad flags.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "broker/audit/audit_keys.h"
#include "broker/audit_locations.h"
#include "broker/logging.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/daemon_build_runner.h"
#include "cli/state_recovery_setup.h"
#include "cli/version.h"
#include "daemon/daemon.h"
#include "daemon/listener.h"
#include "daemon/socket_activation.h"

namespace latchkey::cli {
namespace {

constexpr char kDefaultListen[] = "unix:///run/latchkey/latchkeyd.sock";

struct DaemonFlags {
  GlobalOptions global;
  std::string state_dir;
  std::vector<std::string> listen;
  std::string tls_cert, tls_key, tls_ca;
};

// The signing key id of the audit log's key pair, "" when no key pair exists yet.
std::string AuditKeyId(const Config& config, const std::string& state_dir_flag) {
  AuditLocations loc = ResolveAuditLocations(config, state_dir_flag);
  if (::access(loc.keys.public_key.c_str(), F_OK) != 0) return "";
  auto key = audit::LoadPublicKey(loc.keys.public_key);
  return key.ok() ? audit::KeyId(*key) : "";
}

// --state-dir moves the audit log and its keys too (as `latchkey audit --state-dir`), for the
// daemon's broker and its builds alike; applied to every configuration loaded, at start and on
// SIGHUP.
void ApplyStateDirFlag(const DaemonFlags& f, Config* config) {
  if (f.state_dir.empty()) return;
  AuditLocations loc = ResolveAuditLocations(*config, f.state_dir);
  config->state_dir = loc.state_dir;
  config->audit.path = loc.log;
  config->audit.signing_key_file = loc.keys.signing;
  config->audit.hmac_key_file = loc.keys.hmac;
}

// SIGHUP: the configuration is loaded again (as `latchkey config check` loads it); a broken one
// is refused with that command's error and the running one kept.
void Reload(daemon::Daemon& d, const DaemonFlags& f) {
  auto log = GetLogger("latchkeyd");
  auto config = LoadProcessConfig(f.global);
  if (!config.ok()) {
    log->error("SIGHUP: configuration refused, keeping the running one: {}",
               config.status().message());
    return;
  }
  ApplyStateDirFlag(f, &*config);
  if (Status st = d.Reload(*config); !st.ok()) {
    log->error("SIGHUP: configuration refused, keeping the running one: {}", st.message());
    return;
  }
  log->info("SIGHUP: configuration {} reloaded (policy: {} rule(s), providers: {})",
            config->source.empty() ? "(built-in defaults)" : config->source,
            config->policy.rules().size(), d.broker().ProviderNames().size());
}

int Run(const DaemonFlags& f) {
  // Signals are taken by sigwait in this thread only: block them before any thread starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  if (Status st = InitProcess(f.global); !st.ok()) return Fail(st);
  auto activated = daemon::TakeActivatedSockets();
  if (!activated.ok()) return Fail(activated.status());
  auto config = LoadProcessConfig(f.global);
  if (!config.ok()) return Fail(config.status());

  ApplyStateDirFlag(f, &*config);

  daemon::DaemonOptions opts;
  // Socket activation replaces the default socket; an explicit --listen is served as well.
  std::vector<std::string> listen = f.listen;
  if (listen.empty() && activated->empty()) listen.push_back(kDefaultListen);
  for (const auto& a : listen) {
    auto parsed = daemon::ParseListen(a);
    if (!parsed.ok()) {
      std::fprintf(stderr, "error: %s\n", parsed.status().message().c_str());
      return kExitUsage;
    }
    if (parsed->kind == daemon::ListenAddress::Kind::kTcp &&
        (f.tls_cert.empty() || f.tls_key.empty() || f.tls_ca.empty())) {
      std::fprintf(stderr, "error: --listen %s: needs --tls-cert, --tls-key and --tls-ca\n",
                   a.c_str());
      return kExitUsage;
    }
    opts.listen.push_back(std::move(*parsed));
  }
  for (const auto& s : *activated) opts.activated_fds.push_back(s.fd);
  opts.tls = {f.tls_cert, f.tls_key, f.tls_ca};
  opts.info.version = VersionLine();
  opts.info.state_dir = f.state_dir.empty() ? config->state_dir : f.state_dir;
  // --state-dir moves everything, the builder's state included (as `latchkey image --state-dir`
  // does for the image store); without it the configuration decides.
  opts.builder_state_dir =
      f.state_dir.empty() ? BuilderStateDir(*config) : f.state_dir + "/builder";
  opts.info.audit_signing_key_id = AuditKeyId(*config, f.state_dir);
  opts.config = *config;
  // After a daemon that died: its containers, mounts and bundle directories (the builder's
  // own recovery), recorded as daemon.recovered.
  opts.recover = [&config, builder_dir = opts.builder_state_dir](daemon::BrokerHost& broker,
                                                                 int64_t previous_pid) {
    RecoveryEvent event;
    event.daemon_start = true;
    event.previous_pid = previous_pid;
    return RecoverBuilderState(*config, builder_dir, "", &broker.audit(), event);
  };
  const std::string state_dir = opts.info.state_dir;

  // Builds run with the daemon's builder state and the same audit log and providers.
  auto builds = DaemonBuildRunner::Start(opts.builder_state_dir);
  if (!builds.ok()) return Fail(builds.status());
  opts.builds = builds->get();

  auto d = daemon::Daemon::Start(std::move(opts));
  if (!d.ok()) return Fail(d.status());
  auto log = GetLogger("latchkeyd");
  for (const auto& a : (*d)->addresses()) {
    log->info("listening on {} (pid {}, state dir {})", a, ::getpid(), state_dir);
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Reload(**d, f);
      continue;
    }
    log->info("{} received, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  Status st = (*d)->Shutdown();
  if (!st.ok()) log->error("stopping: {}", st.message());
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
  app.add_option("--listen", f.listen,
                 "Address to serve on (repeatable): unix:///absolute/path or tcp://host:port "
                 "(mutual TLS; needs --tls-cert, --tls-key, --tls-ca). Default: " +
                     std::string(kDefaultListen) + ", or the socket-activated sockets");
  app.add_option("--tls-cert", f.tls_cert, "Server certificate (PEM) for tcp:// listeners");
  app.add_option("--tls-key", f.tls_key, "Server private key (PEM) for tcp:// listeners");
  app.add_option("--tls-ca", f.tls_ca,
                 "CA certificate (PEM) that signs the client certificates tcp:// accepts");
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
