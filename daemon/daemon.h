// Daemon: latchkeyd assembled (docs/daemon.md). Start takes the state directory's lock, starts
// the broker (audit log, policy, providers: broker_host.h), runs crash recovery, opens the
// image store, the unix sockets (created, or handed over by socket activation) and the TCP
// ports (mutual TLS), and serves latchkey.v1.Control on all of them. Reload (SIGHUP) replaces
// policy, providers and the access lists without dropping sessions; Shutdown stops accepting,
// closes every session, stops the gRPC servers and signs the audit checkpoint.
//
// Thread-safety: Start, Reload and Shutdown from one thread (main); the services run on gRPC's
// threads.
#ifndef LATCHKEY_DAEMON_DAEMON_H_
#define LATCHKEY_DAEMON_DAEMON_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/config.h"
#include "builder/image/image_store.h"
#include "daemon/access.h"
#include "daemon/broker_host.h"
#include "daemon/control_service.h"
#include "daemon/listener.h"
#include "daemon/peer.h"
#include "daemon/running_builds.h"
#include "daemon/session_manager.h"
#include "daemon/state_lock.h"

namespace latchkey::daemon {

// PEM files for the TCP listeners: the server's certificate and key, and the CA that signs the
// client certificates it accepts.
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
};

// The gRPC limits latchkeyd serves with (docs/daemon.md, "Limits").
inline constexpr int kMaxConcurrentStreams = 64;     // per connection
inline constexpr int kMaxConnectionIdleMs = 600000;  // a connection with no call for 10 min
// While a call runs, the daemon pings its client's connection every 10 s and closes it when a
// ping is not answered within 5 s: a client that is stopped or gone (not merely slow: gRPC
// answers pings below the application) can then hold no Build stream, session or shutdown.
inline constexpr int kKeepaliveTimeMs = 10000;
inline constexpr int kKeepaliveTimeoutMs = 5000;
inline constexpr int kMaxReceiveMessageBytes = 16 << 20;

struct DaemonOptions {
  std::vector<ListenAddress> listen;  // at least one, unless `activated_fds` is not empty
  // Listening unix sockets passed by a service manager (socket_activation.h); served in
  // addition to `listen` (which then usually holds no unix address).
  std::vector<int> activated_fds;
  TlsFiles tls;                   // required when `listen` has a TCP address
  std::string builder_state_dir;  // the image store's directory
  DaemonInfo info;                // info.state_dir is created (0700) and locked
  Config config;                  // broker and `daemon:` access lists
  // Called once the lock is held and the broker started, before anything is served: crash
  // recovery (cli/latchkeyd_main.cc). `previous_pid` is the pid of a daemon that did not stop
  // cleanly on this state dir, 0 when the last one did. An error stops the start. May be empty.
  std::function<Status(BrokerHost& broker, int64_t previous_pid)> recover;
  BuildRunner* builds = nullptr;  // runs Build calls (not owned); null: Build is UNIMPLEMENTED
};

class Daemon {
 public:
  // Errors: the lock's (state_lock.h), the broker's, recovery's, the listener's (listener.h),
  // the image store's; "--listen tcp://<a>: needs --tls-cert, --tls-key and --tls-ca";
  // "cannot read <flag> <path>: <cause>"; "<flag> <path> is not a PEM <what>"; "cannot listen
  // on tcp://<a> (address in use or not local)"; "cannot start the gRPC server".
  static Result<std::unique_ptr<Daemon>> Start(DaemonOptions options);
  ~Daemon();

  // Applies `config`'s policy, providers, secrets map and `daemon:` access lists (SIGHUP).
  // Open sessions keep what they were opened with. Errors: BrokerHost::Reload's (nothing
  // changed then).
  Status Reload(const Config& config);

  // Stops accepting connections, ends every session (their calls end UNAVAILABLE), stops the
  // gRPC servers (calls still running after 5 s are cancelled), signs an audit checkpoint
  // ("shutdown") and marks the state dir as cleanly stopped (only after a successful Start: a
  // failed one leaves the mark of a daemon that died for the next start). Idempotent; the first
  // error of the audit log or the lock file is returned (the rest still runs).
  Status Shutdown();

  SessionManager& sessions() { return sessions_; }
  BrokerHost& broker() { return *broker_; }
  // "unix:///path" and "tcp://127.0.0.1:<port>" (the bound port), in serving order.
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  explicit Daemon(StateDirLock lock) : lock_(std::move(lock)) {}

  StateDirLock lock_;
  std::unique_ptr<BrokerHost> broker_;
  std::optional<image::ImageStore> images_;
  SessionManager sessions_;
  RunningBuilds running_builds_;  // cancelled first at Shutdown
  PeerRegistry peers_;
  AccessControl access_;
  std::unique_ptr<ControlService> control_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<RefusalServer> refusal_;
  std::vector<std::unique_ptr<UnixListener>> listeners_;
  std::vector<std::string> addresses_;
  bool started_ = false;  // Start succeeded: Shutdown marks a clean stop, else keeps the mark
  bool stopped_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_DAEMON_H_
