// AgentDialer: where the connections of an ssh mount's socket go (SshForwarder). Two
// implementations: LocalAgentDialer (below: the embedded build, `--ssh ID=SOCKET` on this host)
// and the daemon's session dialer (daemon/session_agent_dialer.h: the client's agent through
// moby.sshforward.v1.SSH/ForwardAgent on the build's session, as BuildKit does).
//
// Agent traffic is key material: implementations never log it or put it in an error.
//
// Thread-safety: Check and Forward are called concurrently (one Forward per accepted
// connection, each on its own thread).
#ifndef LATCHKEY_BUILDER_EXECUTOR_AGENT_DIALER_H_
#define LATCHKEY_BUILDER_EXECUTOR_AGENT_DIALER_H_

#include <map>
#include <string>

#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::executor {

class AgentDialer {
 public:
  virtual ~AgentDialer() = default;
  // Whether agent `id` can be used, asked once per ssh mount before the step runs. NOT_FOUND
  // means "the client has no agent <id>" (the executor skips an optional mount and fails a
  // required one with `no SSH key "<id>" forwarded from the client`); any other error fails the
  // step with its message.
  virtual Status Check(const std::string& id) = 0;
  // Serves one connection of the step (`conn`, a connected stream socket; owned here) with agent
  // `id` until either side closes it or `stop_fd` (a pipe's read end; not owned) becomes
  // readable. Returns when the connection is over; its errors are dropped by the caller (the
  // step's agent client sees the connection end), so they carry no agent bytes.
  virtual Status Forward(const std::string& id, base::UniqueFd conn, int stop_fd) = 0;
  // Where agent `id` is, for the audit record (SshUse::agent): a host socket path, or "client"
  // for an agent on the far side of a latchkeyd session; "" when `id` is not known here.
  virtual std::string Location(const std::string& id) const = 0;
};

// The agents of this host: id -> agent socket path (`--ssh`).
//   Check: NOT_FOUND "unset ssh forward key <id>" for an id not in the map (or mapped to "");
//          FAILED_PRECONDITION `ssh agent socket <path> for "<id>" is not usable: <OS error>`
//          when its socket does not accept a connection.
//   Forward: connects to the socket and copies both ways; a half-close is passed on.
class LocalAgentDialer final : public AgentDialer {
 public:
  explicit LocalAgentDialer(std::map<std::string, std::string> sockets)
      : sockets_(std::move(sockets)) {}
  Status Check(const std::string& id) override;
  Status Forward(const std::string& id, base::UniqueFd conn, int stop_fd) override;
  // The agent socket's path (`--ssh id=PATH`, $SSH_AUTH_SOCK); "" for an unknown id.
  std::string Location(const std::string& id) const override;

 private:
  Result<std::string> SocketOf(const std::string& id) const;
  const std::map<std::string, std::string> sockets_;
};

// Connects to the unix socket `path`; the OS error as "connect <path>: <strerror>".
Result<base::UniqueFd> ConnectUnixSocket(const std::string& path);

// Writes all of `data` to the socket `fd`; false when it is closed or fails (never SIGPIPE: the
// peer may close first).
bool SendAll(int fd, const char* data, size_t size);

// Copies `a` <-> `b` until both directions ended (EOF on one side is passed on to the other as
// shutdown(SHUT_WR)) or `stop_fd` becomes readable. Neither descriptor is closed here.
void CopyBothWays(int a, int b, int stop_fd);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_AGENT_DIALER_H_
