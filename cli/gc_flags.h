// The GC's flags and configuration as store_gc.h's GcPolicy: `latchkey prune`'s --filter and
// --keep-storage (buildx's spellings and error texts) and the configuration's builder.gc (run
// after every build by RunConfiguredGc). Thread-safe (no shared state).
#ifndef LATCHKEY_CLI_GC_FLAGS_H_
#define LATCHKEY_CLI_GC_FLAGS_H_

#include <string>
#include <vector>

#include "broker/config.h"
#include "builder/solver/store_gc.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// `prune [--all] [--filter until=D]... [--keep-storage SIZE]` → policy. INVALID_ARGUMENT:
//   `"until" filter expects a duration (e.g., '24h'): time: invalid duration "abc"`
//   `invalid argument "10XB" for "--keep-storage" flag: invalid size: '10XB'`
//   `invalid filter 'foo'` (a key other than until), `bad format of filter (expected
//   name=value)` -- as buildx says them.
Result<build::GcPolicy> PruneFlagsToPolicy(bool all, const std::vector<std::string>& filters,
                                           const std::string& keep_storage);

// Runs builder.gc of `config` on `state_dir` when configured, without waiting: when another
// build holds the state dir, nothing is done (its own end runs the GC). Returns what was
// deleted (empty when not configured or skipped).
Result<build::GcReport> RunConfiguredGc(const Config& config, const std::string& state_dir);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_GC_FLAGS_H_
