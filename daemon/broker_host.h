// BrokerHost: latchkeyd's broker (broker/broker.h) with a reloadable configuration.
//
// The audit log (and its keys) is opened once and kept for the daemon's lifetime. The policy,
// the providers, the `secrets:` map and the fetch timeout form a *generation*; Reload (SIGHUP)
// makes a new generation current. A session keeps the generation it was opened with until it
// closes, so a reload never drops or changes a running session; sessions opened afterwards use
// the new one. Providers are loaded lazily, per session, at the first fetch (session.h), so a
// generation costs no plugin load until a build asks.
//
// What a reload does not change (it needs a restart): the state directory, the audit section
// and the builder section.
//
// Thread-safety: every method may be called concurrently.
#ifndef LATCHKEY_DAEMON_BROKER_HOST_H_
#define LATCHKEY_DAEMON_BROKER_HOST_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/session.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

class BrokerHost {
 public:
  // Broker::Start's errors. `cancelled` (may be null) cancels provider fetches in flight.
  static Result<std::unique_ptr<BrokerHost>> Start(const Config& config,
                                                   const std::atomic<bool>* cancelled = nullptr);

  // Makes `config`'s policy, providers, secrets map and fetch timeout current. Errors:
  // SessionManager::Create's (the previous generation stays current).
  Status Reload(const Config& config);

  // Opens a session (SessionManager::Open) on the current generation; the returned pointer
  // keeps that generation alive. Set attrs.peer (daemon/peer.h SetPeerAttributes) first.
  Result<std::shared_ptr<Session>> Open(SessionAttributes attrs);

  // The current generation's configuration.
  std::shared_ptr<const Config> config() const;
  // The current generation's provider names, bundled first.
  std::vector<std::string> ProviderNames() const;
  audit::AuditLog& audit() { return broker_->audit(); }

 private:
  struct Generation {
    std::shared_ptr<const Config> config;
    std::unique_ptr<SessionManager> sessions;
  };
  BrokerHost() = default;
  Result<std::shared_ptr<Generation>> MakeGeneration(const Config& config);
  std::shared_ptr<Generation> Current() const;

  std::unique_ptr<Broker> broker_;  // the audit log
  const std::atomic<bool>* cancelled_ = nullptr;
  mutable std::mutex mu_;
  std::shared_ptr<Generation> current_;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_BROKER_HOST_H_
