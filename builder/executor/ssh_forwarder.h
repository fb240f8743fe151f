// SshForwarder: a unix socket whose every connection is served by an AgentDialer (agent_dialer.h),
// as BuildKit's session/sshforward does for RUN --mount=type=ssh. The listening socket is created
// in a fresh directory (0711) with the mount's uid, gid and mode applied to the socket, so the
// agent's own socket is never chowned or chmodded. The socket is bind-mounted into the
// container; each accepted connection is handed to the dialer (the host agent for an embedded
// build, the client's agent over the session for a latchkeyd build).
//
// At most kMaxConnections connections are served at once (one thread each); a connection
// beyond that is closed at once (the agent client sees the connection end).
//
// Thread-safety: Start/Stop from one thread; the forwarding runs on internal threads that Stop
// (or the destructor) joins.
#ifndef LATCHKEY_BUILDER_EXECUTOR_SSH_FORWARDER_H_
#define LATCHKEY_BUILDER_EXECUTOR_SSH_FORWARDER_H_

#include <sys/types.h>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "builder/executor/agent_dialer.h"
#include "builder/executor/sys_util.h"
#include "latchkey/status.h"

namespace latchkey::executor {

class SshForwarder {
 public:
  static constexpr size_t kMaxConnections = 16;

  // Listens on `dir`/ssh_auth_sock (dir is created 0711; it must not exist) and serves its
  // connections with `dialer` for agent `id` (the caller has Check()ed it). Errors: the OS's,
  // naming the path.
  static Result<std::unique_ptr<SshForwarder>> Start(const std::string& id,
                                                     std::shared_ptr<AgentDialer> dialer,
                                                     const std::string& dir, uid_t uid, gid_t gid,
                                                     mode_t mode);
  ~SshForwarder();
  SshForwarder(const SshForwarder&) = delete;
  SshForwarder& operator=(const SshForwarder&) = delete;

  // The listening socket's host path.
  const std::string& socket_path() const { return socket_path_; }
  // Stops accepting, ends every connection, joins the threads. Idempotent.
  void Stop();

 private:
  struct Connection {
    std::thread thread;
    bool done = false;  // under mu_
  };

  SshForwarder() = default;
  void AcceptLoop();

  std::string id_;
  std::shared_ptr<AgentDialer> dialer_;
  std::string socket_path_;
  base::UniqueFd listen_fd_;
  base::UniqueFd stop_read_, stop_write_;
  std::thread acceptor_;
  std::mutex mu_;
  std::list<Connection> connections_;
  bool stopped_ = false;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_SSH_FORWARDER_H_
