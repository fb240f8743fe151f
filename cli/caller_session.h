// The attributes of a broker session that describe the process running a CLI command
// (`latchkey build`, `latchkey session check`): who it is, where it runs, the --secret sources
// it declared and its environment.
//
// Thread-safety: reads the process's environment and working directory; call from the main
// thread before starting others.
#ifndef LATCHKEY_CLI_CALLER_SESSION_H_
#define LATCHKEY_CLI_CALLER_SESSION_H_

#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/session.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// Sets attrs->uid (the effective uid), attrs->user ($USER, when set), attrs->working_dir (the
// current directory), attrs->declared (`secret_flags`, the --secret values, parsed against
// `broker`'s configuration and that directory) and attrs->environment (this process's
// environment, for env sources); other fields are left as they are. Errors: ParseSecretFlags's
// for a bad --secret, else ProcessEnvironment's (never INVALID_ARGUMENT, so FailFlags reports
// only flag errors as usage errors).
Status SetCallerAttributes(const Broker& broker, const std::vector<std::string>& secret_flags,
                           SessionAttributes* attrs);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_CALLER_SESSION_H_
