// BrokerSecretSession: the builder's SecretSession (builder/solver/secret_session.h) served by
// one broker Session (broker/session.h) and the audit log it writes to. Pure translation: each
// method is one call into the broker, with the builder's StepRef turned into the broker's
// StepContext and a LeakRecord into a leak.finding audit record.
//
// It lives in cli/ because cli/ is the one folder that may include both the builder and the
// broker (the broker never includes the builder; the builder includes no broker session or
// audit header): the wiring of a build to its session is the CLI's job.
//
// Thread-safety: as thread-safe as Session and AuditLog are (both are).
#ifndef LATCHKEY_CLI_BROKER_SECRET_SESSION_H_
#define LATCHKEY_CLI_BROKER_SECRET_SESSION_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/session.h"
#include "builder/solver/secret_session.h"

namespace latchkey::cli {

// The broker's view of a builder step.
StepContext ToStepContext(const build::StepRef& step);
// The ssh.forward record of an executor's SshUse (session, step, requester and peer are the
// session's to fill in).
audit::SshForwardRecord ToSshForwardRecord(const executor::SshUse& use);

class BrokerSecretSession : public build::SecretSession {
 public:
  // `session` and `audit` are not owned and must outlive this object; `audit` is the log the
  // session's manager writes to. Closing the session stays the caller's job.
  BrokerSecretSession(Session& session, audit::AuditLog& audit)
      : session_(session), audit_(audit) {}

  // Session::Fetch; the value is copied into a new sealed SecretBuffer that the caller owns
  // (the session keeps its own until Close). Errors: Session::Fetch's, unchanged, or
  // RESOURCE_EXHAUSTED when secure memory runs out.
  Result<std::shared_ptr<const SecretBuffer>> Fetch(const std::string& id,
                                                    const build::StepRef& step) override;
  // Session::AuthorizeCacheHit (audited as cache.hit).
  Status AuthorizeCacheHit(const std::vector<std::string>& secret_ids, const build::StepRef& step,
                           const std::string& cache_key) override;
  // Session::Released.
  std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> Released()
      const override;
  // Appends a leak.finding record for this session, with a new random finding id.
  Status RecordLeak(const build::LeakRecord& finding) override;
  // Session::RecordSshForward (audited as ssh.forward).
  Status RecordSshForward(const executor::SshUse& use, const build::StepRef& step) override;

 private:
  Session& session_;
  audit::AuditLog& audit_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BROKER_SECRET_SESSION_H_
