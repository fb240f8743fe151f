// SecretSession: everything the builder asks of the broker, as one small interface. Build()
// (builder.h) takes one; the builder includes no broker header beyond the secure-memory types.
//
// What the builder needs from a build's secret session, and nothing else:
//   Fetch              a secret's value for a RUN step, when the step starts (step_exec.cc);
//   AuthorizeCacheHit  whether a cached step that mounted secrets may be reused (step_key.cc);
//   Released           every value handed out so far, for the leak guard (leak_guard.cc);
//   RecordLeak         a leak finding, into the audit log (leak_guard.cc);
//   RecordSshForward   a RUN step's use of an SSH agent, into the audit log (step_exec.cc).
// Opening and closing the session are the caller's business (the builder never closes it), and
// cancellation reaches the builder through the executor's cancel token, not through here.
//
// Implemented by the CLI's adapter over broker::Session (cli/broker_secret_session.h) and, for
// the builder's unit tests, by FakeSecretSession (secret_session_testutil.h).
#ifndef LATCHKEY_BUILDER_SOLVER_SECRET_SESSION_H_
#define LATCHKEY_BUILDER_SOLVER_SECRET_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "builder/executor/step.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::build {

// The build step that asks: the identity the audit record and the provider's request context
// carry. Never holds a secret value (the instruction text is the Dockerfile's, as evaluated).
struct StepRef {
  std::string stage;        // stage name, or its index in decimal
  uint32_t index = 0;       // the step's number in its stage's "[k/n]" (FROM is 1)
  uint32_t line = 0;        // Dockerfile line; 0 when unknown
  std::string instruction;  // the instruction text
};

// One place the leak guard found a released value.
struct LeakRecord {
  std::string secret_id;  // whose value was found
  std::string layer;      // layer digest, "config", "output" or "cache mount <target>"
  std::string path;       // where inside it (tar entry name, or the scan's `where`)
  StepRef step;           // the step that wrote it
};

class SecretSession {
 public:
  virtual ~SecretSession() = default;

  // The value of secret `id` for `step`, fetched now (the fetch is audited before the value is
  // released). The caller co-owns the returned buffer; it stays valid (and sealed read-only)
  // for as long as the caller holds it, even after the session ends. Errors are the session's,
  // with their message passed through unchanged to the user: NOT_FOUND means "no such secret"
  // (an optional mount is then skipped), anything else fails the step (PERMISSION_DENIED from
  // policy, UNAVAILABLE when the audit log cannot record, FAILED_PRECONDITION when the session
  // is closed or expired, a provider's own error). Never returns a null buffer.
  // Thread-safe.
  virtual Result<std::shared_ptr<const SecretBuffer>> Fetch(const std::string& id,
                                                            const StepRef& step) = 0;

  // May a cached step that mounted `secret_ids` be reused by this session, keyed `cache_key`?
  // OK when the session could obtain every one of them now (nothing is fetched) and the reuse
  // was recorded durably; otherwise the first refusal (the step then runs uncached and its
  // fetches are audited as usual) or UNAVAILABLE when the record cannot be written. Any error
  // means "do not reuse"; none fails the build by itself. Thread-safe.
  virtual Status AuthorizeCacheHit(const std::vector<std::string>& secret_ids, const StepRef& step,
                                   const std::string& cache_key) = 0;

  // Every (id, value) handed out by this session so far, in release order; an id appears
  // once per distinct value (a rotated file read twice appears twice). The buffers are shared,
  // not copied; the list only grows while the session is open. Thread-safe.
  virtual std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> Released()
      const = 0;

  // Records `finding` durably (the leak.finding audit record; a new finding id each call).
  // UNAVAILABLE when it cannot be recorded: the caller then fails the build (fail closed).
  // Thread-safe.
  virtual Status RecordLeak(const LeakRecord& finding) = 0;

  // Records durably that `step` asked for SSH agent `use.id` and what came of it (the
  // ssh.forward audit record), before the step gets the agent's socket. UNAVAILABLE when it
  // cannot be recorded, FAILED_PRECONDITION when the session is closed: the step then fails and
  // the agent is not forwarded (fail closed). Thread-safe.
  virtual Status RecordSshForward(const executor::SshUse& use, const StepRef& step) = 0;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_SECRET_SESSION_H_
