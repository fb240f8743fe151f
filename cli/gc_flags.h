// The GC's flags and configuration as store_gc.h's GcPolicy: `latchkey prune`'s --filter and
// --keep-storage (buildx's spellings and error texts, daemon/prune_flags.h) and the
// configuration's builder.gc (run after every build by RunConfiguredGc). Thread-safe (no shared
// state).
#ifndef LATCHKEY_CLI_GC_FLAGS_H_
#define LATCHKEY_CLI_GC_FLAGS_H_

#include <string>
#include <vector>

#include "broker/config.h"
#include "builder/solver/store_gc.h"
#include "daemon/prune_flags.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// `latchkey prune`'s flags as a policy: daemon/prune_flags.h (the daemon's Prune parses them
// with the same function and texts).
using daemon::PruneFlagsToPolicy;

// Runs builder.gc of `config` on `state_dir` when configured, without waiting: when another
// build holds the state dir, nothing is done (its own end runs the GC). Returns what was
// deleted (empty when not configured or skipped).
Result<build::GcReport> RunConfiguredGc(const Config& config, const std::string& state_dir);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_GC_FLAGS_H_
