// `latchkey prune`'s --filter and --keep-storage as store_gc.h's GcPolicy, with buildx's
// spellings and error texts. Shared by the CLI's embedded prune (cli/gc_cmd.cc) and latchkeyd's
// Prune call (daemon/gc_call.h), which gets the flags as the user wrote them, so a bad value is
// refused with the same text in both modes. Thread-safe (a pure function).
#ifndef LATCHKEY_DAEMON_PRUNE_FLAGS_H_
#define LATCHKEY_DAEMON_PRUNE_FLAGS_H_

#include <string>
#include <vector>

#include "builder/solver/store_gc.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

// `prune [--all] [--filter until=D]... [--keep-storage SIZE]` → policy. INVALID_ARGUMENT:
//   `"until" filter expects a duration (e.g., '24h'): time: invalid duration "abc"`
//   `invalid argument "10XB" for "--keep-storage" flag: invalid size: '10XB'`
//   `invalid filter 'foo'` (a key other than until), `bad format of filter (expected
//   name=value)` -- as buildx says them.
Result<build::GcPolicy> PruneFlagsToPolicy(bool all, const std::vector<std::string>& filters,
                                           const std::string& keep_storage);

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_PRUNE_FLAGS_H_
