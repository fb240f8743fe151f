// SshForwarder: a unix socket that forwards every connection to an ssh agent socket, as
// BuildKit's session/sshforward does for RUN --mount=type=ssh. The listening socket is created
// in a fresh directory (0711) with the mount's uid, gid and mode applied to the socket, so the
// host agent's own socket is never chowned or chmodded. The socket is bind-mounted into the
// container; each accepted connection is copied both ways to a new connection to the agent.
//
// Thread-safety: Start/Stop from one thread; the forwarding runs on internal threads that Stop
// (or the destructor) joins.
#ifndef LATCHKEY_BUILDER_EXECUTOR_SSH_FORWARDER_H_
#define LATCHKEY_BUILDER_EXECUTOR_SSH_FORWARDER_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "builder/executor/sys_util.h"
#include "latchkey/status.h"

namespace latchkey::executor {

class SshForwarder {
 public:
  // Listens on `dir`/ssh_auth_sock (dir is created 0711; it must not exist) and forwards to
  // `agent_socket`. Fails when the agent socket is not a reachable unix socket:
  //   ssh agent socket <path> for "<id>" is not usable: <OS error>
  static Result<std::unique_ptr<SshForwarder>> Start(const std::string& id,
                                                     const std::string& agent_socket,
                                                     const std::string& dir, uid_t uid, gid_t gid,
                                                     mode_t mode);
  ~SshForwarder();
  SshForwarder(const SshForwarder&) = delete;
  SshForwarder& operator=(const SshForwarder&) = delete;

  // The listening socket's host path.
  const std::string& socket_path() const { return socket_path_; }
  // Stops accepting, closes every connection, joins the threads. Idempotent.
  void Stop();

 private:
  SshForwarder() = default;
  void AcceptLoop();
  void Pump(base::UniqueFd client);

  std::string agent_socket_;
  std::string socket_path_;
  base::UniqueFd listen_fd_;
  base::UniqueFd stop_read_, stop_write_;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;
  bool stopped_ = false;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_SSH_FORWARDER_H_
