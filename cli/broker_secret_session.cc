#include "cli/broker_secret_session.h"

namespace latchkey::cli {

StepContext ToStepContext(const build::StepRef& step) {
  StepContext ctx;
  ctx.stage = step.stage;
  ctx.index = step.index;
  ctx.line = step.line;
  ctx.instruction = step.instruction;
  return ctx;
}

Result<std::shared_ptr<const SecretBuffer>> BrokerSecretSession::Fetch(const std::string& id,
                                                                       const build::StepRef& step) {
  LK_ASSIGN_OR_RETURN(SecretView view, session_.Fetch(id, ToStepContext(step)));
  LK_ASSIGN_OR_RETURN(SecretBuffer copy, SecretBuffer::CopyOf(view.bytes()));
  copy.Seal();
  return std::make_shared<const SecretBuffer>(std::move(copy));
}

Status BrokerSecretSession::AuthorizeCacheHit(const std::vector<std::string>& secret_ids,
                                              const build::StepRef& step,
                                              const std::string& cache_key) {
  return session_.AuthorizeCacheHit(secret_ids, ToStepContext(step), cache_key);
}

std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>
BrokerSecretSession::Released() const {
  return session_.Released();
}

Status BrokerSecretSession::RecordLeak(const build::LeakRecord& finding) {
  audit::LeakFindingRecord rec;
  rec.session = session_.id();
  rec.finding = NewSessionId();
  rec.secret = finding.secret_id;
  rec.layer = finding.layer;
  rec.path = finding.path;
  rec.step.stage = finding.step.stage;
  rec.step.index = finding.step.index;
  rec.step.line = finding.step.line;
  rec.step.instruction = finding.step.instruction;
  rec.peer = session_.attributes().peer;
  return audit_.Append(std::move(rec));
}

audit::SshForwardRecord ToSshForwardRecord(const executor::SshUse& use) {
  audit::SshForwardRecord rec;
  rec.ssh = use.id;
  switch (use.outcome) {
    case executor::SshOutcome::kGranted:
      rec.outcome = audit::SshOutcome::kGranted;
      break;
    case executor::SshOutcome::kNotFound:
      rec.outcome = audit::SshOutcome::kNotFound;
      break;
    case executor::SshOutcome::kUnusable:
      rec.outcome = audit::SshOutcome::kUnusable;
      break;
  }
  rec.agent = use.agent;
  rec.required = use.required;
  rec.error = use.error;
  return rec;
}

Status BrokerSecretSession::RecordSshForward(const executor::SshUse& use,
                                             const build::StepRef& step) {
  return session_.RecordSshForward(ToSshForwardRecord(use), ToStepContext(step));
}

}  // namespace latchkey::cli
