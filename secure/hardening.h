// Process hardening that every latchkey binary runs first thing in main.
#ifndef LATCHKEY_SECURE_HARDENING_H_
#define LATCHKEY_SECURE_HARDENING_H_

#include <cstdint>
#include <string>

#include "latchkey/status.h"

namespace latchkey {

struct HardeningReport {
  uint64_t memlock_soft = 0;  // RLIMIT_MEMLOCK soft limit in bytes (UINT64_MAX = unlimited)
  uint64_t memlock_hard = 0;
  // One line for the operational log, e.g.
  // "hardening: core dumps disabled; memlock limit 8.0 MiB (soft) / 8.0 MiB (hard)".
  std::string log_line;
};

// Disables core dumps (RLIMIT_CORE 0 and PR_SET_DUMPABLE 0), initialises libsodium and reads
// the memlock limit. Fails with INTERNAL naming the call that failed. Call once, early, before
// any thread starts.
Result<HardeningReport> HardenProcess();

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_HARDENING_H_
