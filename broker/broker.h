// Broker: the broker assembled from a Config -- the audit log (with its keys), the policy and
// the provider specs -- behind one SessionManager. The CLI makes one per process; the builder
// only sees the Sessions it opens.
//
// Thread-safety: after Start returns, every member is thread-safe.
#ifndef LATCHKEY_BROKER_BROKER_H_
#define LATCHKEY_BROKER_BROKER_H_

#include <memory>
#include <string>

#include "broker/audit/audit_log.h"
#include "broker/config.h"
#include "broker/secret_flags.h"
#include "broker/session.h"
#include "latchkey/status.h"

namespace latchkey {

struct BrokerOptions {
  // Create the audit keys in the state directory when they do not exist yet, so that the
  // built-in defaults work with no setup at all. Off: a missing key is an error naming
  // `latchkey audit keygen`.
  bool create_missing_keys = true;
  // Cancels provider fetches in flight when set (SessionManagerOptions::cancelled). May be
  // nullptr; must outlive the broker.
  const std::atomic<bool>* cancelled = nullptr;
};

class Broker {
 public:
  // Opens the audit log (creating keys if allowed) and builds the session manager. Errors name
  // the file or key that is wrong.
  static Result<std::unique_ptr<Broker>> Start(const Config& config,
                                               const BrokerOptions& options = {});
  ~Broker();

  SessionManager& sessions() { return *sessions_; }
  audit::AuditLog& audit() { return *audit_; }
  const Config& config() const { return config_; }

  // The context for parsing --secret flags: the caller's variable names and working
  // directory, and the configured provider names.
  SecretFlagContext FlagContext(EnvNames env, std::string cwd) const;

 private:
  Broker() = default;
  Config config_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<SessionManager> sessions_;
};

// The session manager of `config`'s providers, secrets map and fetch timeout, deciding with
// `policy` and recording to `audit` (neither owned; both must outlive it). Broker::Start's, and
// latchkeyd's on a reload (daemon/broker_host.h). Errors: SessionManager::Create's.
Result<std::unique_ptr<SessionManager>> MakeSessionManager(const Config& config,
                                                           const Policy* policy,
                                                           audit::AuditLog* audit,
                                                           const std::atomic<bool>* cancelled);

// Maps the configuration's fsync setting onto the audit writer's.
audit::FsyncMode ToFsyncMode(AuditFsync fsync);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_BROKER_H_
