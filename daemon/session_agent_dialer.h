// SessionAgentDialer: the ssh mounts of a latchkeyd build, served by the client's agents over
// the build's session -- BuildKit's sshforward.CheckSSHID and MountSSHSocket's per-connection
// ForwardAgent, on the executor's seam (builder/executor/agent_dialer.h).
//
//   Check    moby.sshforward.v1.SSH/CheckAgent{ID: id} on the session. NOT_FOUND and
//            UNIMPLEMENTED (a client that serves no agents) become NOT_FOUND "unset ssh forward
//            key <id>" (the executor then skips an optional mount and fails a required one with
//            `no SSH key "<id>" forwarded from the client`, as in embedded mode);
//            FAILED_PRECONDITION (the client's agent socket is not usable) keeps the client's
//            text; any other code is "session <sid>: CheckAgent <id>: <message>".
//   Forward  one moby.sshforward.v1.SSH/ForwardAgent call per connection of the step, the id in
//            the gRPC metadata key "buildkit.ssh.id" (session/ssh_service.h, kSshIdKey): the
//            connection's bytes go out as BytesMessages, the answers come back; the step's
//            half-close is WritesDone, the client's end of the stream closes the connection;
//            the forwarder's stop cancels the call. Two threads per connection (the caller's
//            and a reader), each chunk wiped after use.
//   Location "client" for every id.
//
// Thread-safety: Check and Forward are called concurrently; the channel is gRPC's.
#ifndef LATCHKEY_DAEMON_SESSION_AGENT_DIALER_H_
#define LATCHKEY_DAEMON_SESSION_AGENT_DIALER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "builder/executor/agent_dialer.h"

namespace latchkey::daemon {

class SessionAgentDialer final : public executor::AgentDialer {
 public:
  // How long CheckAgent may take (the client answers from memory and one local connect).
  static constexpr std::chrono::seconds kCheckTimeout{30};

  SessionAgentDialer(std::string session_id, std::shared_ptr<grpc::Channel> channel)
      : session_id_(std::move(session_id)), channel_(std::move(channel)) {}

  Status Check(const std::string& id) override;
  Status Forward(const std::string& id, base::UniqueFd conn, int stop_fd) override;
  // "client": the agent is the client's, on the far side of the session (the session's audit
  // records name the client as their `peer`).
  std::string Location(const std::string& id) const override;

 private:
  const std::string session_id_;
  const std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_SESSION_AGENT_DIALER_H_
