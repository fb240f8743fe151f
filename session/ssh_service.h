// SshService: the client's moby.sshforward.v1.SSH, served on a session tunnel (tunnel_server.h)
// for the agents given with `--ssh` (id -> agent socket path), as BuildKit's sshprovider:
//   CheckAgent    the request's ID ("" is "default"): OK when the id is known and its socket
//                 accepts a connection; NOT_FOUND "unset ssh forward key <id>" (BuildKit's text)
//                 for an unknown id; FAILED_PRECONDITION `ssh agent socket <path> for "<id>" is
//                 not usable: <OS error>` when the socket does not (the embedded build's text).
//   ForwardAgent  the agent id from the gRPC metadata key "buildkit.ssh.id" (kSshIdKey; absent
//                 or empty: "default"): connects to that agent's socket and pumps BytesMessages
//                 both ways. The builder's half-close (WritesDone) is passed on to the agent as
//                 shutdown(SHUT_WR); the call ends OK when the agent closes its side, CANCELLED
//                 when the builder cancels it. NOT_FOUND "unset ssh forward key <id>";
//                 UNAVAILABLE "failed to dial agent <id>: connect <path>: <OS error>";
//                 RESOURCE_EXHAUSTED "too many ssh agent connections (max 32)" beyond
//                 kMaxForwards calls at once.
//
// Agent traffic is key material: it is never logged nor put in a status; the message buffers
// are wiped after each chunk.
//
// Threads: one per running ForwardAgent call (it polls the agent socket and writes what the
// builder sent), so at most kMaxForwards; CheckAgent answers on gRPC's thread (a non-blocking
// connect). The destructor waits for the forward threads, which end once the tunnel server has
// shut down (their calls are cancelled then).
//
// Recording (`latchkey build --builder docker`, where this service answers a Docker Engine's
// BuildKit and the build's broker session audits): when a recorder is given, CheckAgent calls it
// with the id, the agent's socket path ("" for an unknown id) and the answer it is about to give
// (OK, NOT_FOUND or FAILED_PRECONDITION, texts as above) BEFORE answering; a recorder error is
// the answer instead (the agent is then not granted: fail closed). BuildKit checks every ssh
// mount of a step with CheckAgent before it forwards anything.
//
// Thread-safety: all methods are called from gRPC's threads concurrently; the agent map and the
// recorder are fixed at construction (the recorder is called concurrently).
#ifndef LATCHKEY_SESSION_SSH_SERVICE_H_
#define LATCHKEY_SESSION_SSH_SERVICE_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>

#include "api/moby/sshforward/v1/ssh.grpc.pb.h"
#include "latchkey/status.h"
#include "session/reply_wiping.h"

namespace latchkey::session {

// BuildKit's sshforward.KeySSHID: the gRPC metadata key naming ForwardAgent's agent.
inline constexpr char kSshIdKey[] = "buildkit.ssh.id";
// BuildKit's sshforward.DefaultID.
inline constexpr char kDefaultSshId[] = "default";

class SshService final : public moby::sshforward::v1::SSH::CallbackService {
 public:
  static constexpr int kMaxForwards = 32;

  // (id, agent socket path, the answer CheckAgent is about to give) -> OK when recorded.
  using CheckRecorder =
      std::function<Status(const std::string& id, const std::string& agent, const Status& answer)>;

  // `agents`: id -> agent socket path (as ParseSshFlags gives them). `recorder`: see above;
  // null: CheckAgent records nothing (the client of a latchkeyd build: the daemon records).
  explicit SshService(std::map<std::string, std::string> agents, CheckRecorder recorder = nullptr)
      : agents_(std::move(agents)), recorder_(std::move(recorder)) {}
  ~SshService() override = default;  // forwards_ waits for running forward threads

  // How many ForwardAgent calls reached their agent (tests, progress).
  uint64_t forwarded() const { return forwarded_.load(); }

  grpc::ServerUnaryReactor* CheckAgent(grpc::CallbackServerContext* context,
                                       const moby::sshforward::v1::CheckAgentRequest* request,
                                       moby::sshforward::v1::CheckAgentResponse* response) override;
  grpc::ServerBidiReactor<moby::sshforward::v1::BytesMessage, moby::sshforward::v1::BytesMessage>*
  ForwardAgent(grpc::CallbackServerContext* context) override;

 private:
  class Forward;

  Status Check(const std::string& id) const;

  const std::map<std::string, std::string> agents_;
  const CheckRecorder recorder_;
  std::atomic<int> running_{0};
  std::atomic<uint64_t> forwarded_{0};
  LookupThreads forwards_;  // last: destroyed (waiting for forward threads) first
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_SSH_SERVICE_H_
