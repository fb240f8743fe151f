// Daemon: latchkeyd assembled (docs/daemon.md). Start takes the state directory's lock, opens
// the image store, creates the socket, and serves latchkey.v1.Control on it; Shutdown stops
// accepting, closes every session, and stops the gRPC server.
//
// Thread-safety: Start and Shutdown from one thread (main); the services run on gRPC's threads.
#ifndef LATCHKEY_DAEMON_DAEMON_H_
#define LATCHKEY_DAEMON_DAEMON_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "builder/image/image_store.h"
#include "daemon/control_service.h"
#include "daemon/listener.h"
#include "daemon/peer.h"
#include "daemon/session_manager.h"
#include "daemon/state_lock.h"

namespace latchkey::daemon {

struct DaemonOptions {
  std::string socket_path;        // absolute
  std::string builder_state_dir;  // the image store's directory
  DaemonInfo info;                // info.state_dir is created (0700) and locked
  BuildRunner* builds = nullptr;  // runs Build calls (not owned); null: Build is UNIMPLEMENTED
};

class Daemon {
 public:
  // Errors: the lock's (state_lock.h), the listener's (listener.h), the image store's, and
  // "cannot start the gRPC server".
  static Result<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon();

  // Stops accepting connections, ends every session (their calls end CANCELLED), and stops
  // the gRPC server (calls still running after 5 s are cancelled). Idempotent.
  void Shutdown();

  SessionManager& sessions() { return sessions_; }
  const std::string& socket_path() const { return listener_->path(); }

 private:
  explicit Daemon(StateDirLock lock) : lock_(std::move(lock)) {}

  StateDirLock lock_;
  std::optional<image::ImageStore> images_;
  SessionManager sessions_;
  PeerRegistry peers_;
  std::unique_ptr<ControlService> control_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UnixListener> listener_;
  bool stopped_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_DAEMON_H_
