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
#include "daemon/access.h"
#include "daemon/peer.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

// The group that may use the daemon's socket when it exists.
inline constexpr char kSocketGroup[] = "latchkey";

// One --listen address.
struct ListenAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;      // kUnix: absolute socket path
  std::string hostport;  // kTcp: "127.0.0.1:7443" ("[::1]:7443"); port 0 picks one
};

// "unix:///run/x.sock" or "tcp://127.0.0.1:7443". INVALID_ARGUMENT "invalid --listen <addr>:
// want unix:///absolute/path or tcp://host:port" for anything else.
Result<ListenAddress> ParseListen(std::string_view address);

class UnixListener {
 public:
  // Errors name the path: "refusing to listen on <path>: directory <dir> is owned by uid <u>,
  // not by latchkeyd's uid <e>", "refusing to listen on <path>: it exists and is not a
  // socket", "refusing to listen on <path>: another process is listening on it",
  // "socket path <path> is longer than 107 bytes", and the OS errors of each call.
  static Result<std::unique_ptr<UnixListener>> Open(const std::string& path);
  // Takes over a listening unix stream socket passed by a service manager (socket activation,
  // daemon/socket_activation.h): nothing is created, and Stop does not remove the path (the
  // manager owns it). Errors: "socket-activated fd <n> is not a listening unix stream socket".
  static Result<std::unique_ptr<UnixListener>> Adopt(int fd);
  ~UnixListener();

  // Accepts connections on a thread: records each one's peer in `peers`, then adds it to
  // `server` (a started server) -- or, when `access` refuses the peer, to `refusal`, whose
  // calls answer PERMISSION_DENIED with the reason (access.h). None is owned; all must outlive
  // Stop(). `access` and `refusal` may both be null (everyone allowed).
  void Start(grpc::Server* server, PeerRegistry* peers, const AccessControl* access = nullptr,
             RefusalServer* refusal = nullptr);
  // Stops accepting, closes the socket and removes its path (not an adopted one's). Idempotent.
  void Stop();

  const std::string& path() const { return path_; }
  // The group the socket file was given.
  gid_t gid() const { return gid_; }

 private:
  UnixListener() = default;
  void AcceptLoop(grpc::Server* server, PeerRegistry* peers, const AccessControl* access,
                  RefusalServer* refusal);
  Status MakeWakePipe();

  std::string path_;
  gid_t gid_ = 0;
  base::UniqueFd fd_;
  base::UniqueFd wake_read_, wake_write_;
  std::thread thread_;
  bool stopped_ = false;
  bool adopted_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_LISTENER_H_
