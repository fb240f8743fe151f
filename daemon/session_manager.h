// SessionManager: the daemon's open client sessions, by id (docs/daemon.md).
//
// A session is registered by the Session call's handler (control_service.h) with the gRPC
// channel that runs over its tunnel, and removed when the call ends. The daemon calls the
// services the client serves through GetSecret (moby.buildkit.secrets.v1.Secrets/GetSecret),
// on the session the build names, with a deadline.
//
// Thread-safety: every method may be called concurrently. Close callbacks run under the
// manager's lock, so once Remove(id) returns, the callback of `id` is neither running nor
// called again.
#ifndef LATCHKEY_DAEMON_SESSION_MANAGER_H_
#define LATCHKEY_DAEMON_SESSION_MANAGER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/peer.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::daemon {

// What the client said about its session (metadata keys in session/metadata.h) and who it is.
struct SessionInfo {
  std::string id;
  std::string name;
  std::string shared_key;
  std::vector<std::string> methods;  // "/<service>/<method>" as advertised
  // Who opened it (PeerRegistry::Identify): uid/gid/pid/user on the unix socket, the client
  // certificate's CN on TCP; unset when the connection's peer is unknown.
  std::optional<audit::PeerInfo> peer;
};

class SessionManager {
 public:
  using Clock = std::chrono::system_clock;

  // Registers `info.id` with its tunnel channel; `close` ends the session's call (it must be
  // safe to call until Remove(info.id) returns). ALREADY_EXISTS "session <id> already exists"
  // (BuildKit's text); UNAVAILABLE "latchkeyd is shutting down" after CloseAll.
  Status Add(SessionInfo info, std::shared_ptr<grpc::Channel> channel, std::function<void()> close);

  // Unregisters `id` (no-op when absent). GetSecret calls already running on its channel fail
  // when the tunnel goes down.
  void Remove(const std::string& id);

  // Waits until session `id` is open or `deadline` passes; true when open.
  bool WaitFor(const std::string& id, Clock::time_point deadline);

  // Asks session `session_id` for secret `secret_id`, waiting at most until `deadline`.
  // The value is copied from the response into a sealed SecretBuffer and the response's copy
  // is wiped before it is freed. Errors:
  //   NOT_FOUND "no active session for <session_id>"
  //   NOT_FOUND "secret <secret_id>: not found" (the client answered NOT_FOUND or does not serve
  //             Secrets: UNIMPLEMENTED, as BuildKit)
  //   RESOURCE_EXHAUSTED "secret <secret_id> from session <session_id>: <n> bytes is over the
  //             512000-byte limit"
  //   otherwise the call's code with "session <session_id>: GetSecret <secret_id>: <message>"
  //             (UNAVAILABLE when the client went away, DEADLINE_EXCEEDED after `deadline`)
  Result<SecretBuffer> GetSecret(const std::string& session_id, const std::string& secret_id,
                                 Clock::time_point deadline);

  // The tunnel channel of session `id` (to call the other services its client serves, e.g.
  // latchkey.v1.ContextSync), with the session's info; nullptr when no such session is open.
  std::shared_ptr<grpc::Channel> Channel(const std::string& id, SessionInfo* info = nullptr) const;

  // Ends every open session (their close callbacks) and refuses new ones.
  void CloseAll();

  size_t size() const;
  std::vector<SessionInfo> List() const;

 private:
  struct Entry {
    SessionInfo info;
    std::shared_ptr<grpc::Channel> channel;
    std::function<void()> close;
  };
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Entry>> sessions_;
  bool closed_ = false;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_SESSION_MANAGER_H_
