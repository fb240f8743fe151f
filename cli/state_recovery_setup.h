// Start-up recovery of the builder's state directory for the commands that use it (`build`,
// `image ...`): builder/solver/state_recovery.h does the cleaning; this writes what it cleaned to
// the audit log as a `recovered` record (docs/audit-log.md) and to the operational log.
#ifndef LATCHKEY_CLI_STATE_RECOVERY_SETUP_H_
#define LATCHKEY_CLI_STATE_RECOVERY_SETUP_H_

#include <cstdint>
#include <string>

#include "broker/audit/audit_log.h"
#include "broker/config.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// How the recovery is recorded: by `latchkey build`/`image` (`recovered`, only when something
// was cleaned), or by latchkeyd's start (`daemon.recovered` with the pid of the daemon that did
// not stop cleanly: written when `previous_pid` is not 0 or something was cleaned).
struct RecoveryEvent {
  bool daemon_start = false;
  int64_t previous_pid = 0;
};

// Recovers `builder_state_dir` with `runtime` ("" = the configured builder runtime, else runc).
// When something was cleaned, appends a `recovered` record to `audit`, or, when `audit` is
// null, to the configuration's audit log (opened for this). Errors: "recovering <dir>: <cause>"
// (the audit record still lists what was cleaned before the failure).
Status RecoverBuilderState(const Config& config, const std::string& builder_state_dir,
                           const std::string& runtime, audit::AuditLog* audit,
                           const RecoveryEvent& event = {});

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_STATE_RECOVERY_SETUP_H_
