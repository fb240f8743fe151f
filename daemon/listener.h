// UnixListener: latchkeyd's listening unix socket, accepted by the daemon itself so that every
// connection's SO_PEERCRED is recorded (peer.h) before the socket is handed to gRPC
// (grpc::AddInsecureChannelFromFd).
//
// The socket file is created mode 0660 (bound under umask 0177, then chmod), with group
// `latchkey` when that group exists (else the daemon's group). Open refuses:
//   - a socket whose directory latchkeyd's uid does not own (someone else could replace it),
//   - a path that exists and is not a socket,
//   - a socket on which another process accepts connections.
// A stale socket (nobody listening) is removed first. The directory is created (0755) when
// missing.
//
// Thread-safety: Open, Start and Stop are called from one thread (the daemon's main); the
// accept loop runs on its own thread between Start and Stop.
#ifndef LATCHKEY_DAEMON_LISTENER_H_
#define LATCHKEY_DAEMON_LISTENER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/unique_fd.h"
#include "daemon/peer.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

// The group that may use the daemon's socket when it exists.
inline constexpr char kSocketGroup[] = "latchkey";

// "unix:///run/x.sock" -> "/run/x.sock". INVALID_ARGUMENT "invalid --listen <addr>: want
// unix:///absolute/path" for anything else (TCP is not supported yet).
Result<std::string> ParseListenAddress(std::string_view address);

class UnixListener {
 public:
  // Errors name the path: "refusing to listen on <path>: directory <dir> is owned by uid <u>,
  // not by latchkeyd's uid <e>", "refusing to listen on <path>: it exists and is not a
  // socket", "refusing to listen on <path>: another process is listening on it",
  // "socket path <path> is longer than 107 bytes", and the OS errors of each call.
  static Result<std::unique_ptr<UnixListener>> Open(const std::string& path);
  ~UnixListener();

  // Accepts connections on a thread: records each one's peer in `peers`, then adds it to
  // `server` (a started server). Neither is owned; both must outlive Stop().
  void Start(grpc::Server* server, PeerRegistry* peers);
  // Stops accepting, closes the socket and removes its path. Idempotent.
  void Stop();

  const std::string& path() const { return path_; }
  // The group the socket file was given.
  gid_t gid() const { return gid_; }

 private:
  UnixListener() = default;
  void AcceptLoop(grpc::Server* server, PeerRegistry* peers);

  std::string path_;
  gid_t gid_ = 0;
  base::UniqueFd fd_;
  base::UniqueFd wake_read_, wake_write_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_LISTENER_H_
