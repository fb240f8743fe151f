// Searching audit records: the filters of `latchkey audit search` and its two output formats.
// Filters combine with AND; an empty filter field matches everything.
//
// Pure functions; thread-safe.
#ifndef LATCHKEY_BROKER_AUDIT_SEARCH_H_
#define LATCHKEY_BROKER_AUDIT_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/audit/audit_time.h"
#include "broker/audit/log_set.h"
#include "latchkey/status.h"

namespace latchkey::audit {

struct SearchFilter {
  std::string hmac;                // "hmac-sha256:<hex>" or a prefix of it (at least 16 characters)
  std::string secret;              // exact secret id
  std::string session;             // exact session id
  std::string outcome;             // granted | denied | not_found | error
  std::string event;               // exact event name
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // inclusive
};

// INVALID_ARGUMENT for an unknown outcome or an hmac that is not "hmac-sha256:..." (exact text
// in the .cc and asserted by tests).
Status ValidateFilter(const SearchFilter& filter);

struct SearchResult {
  std::vector<std::string> lines;  // matching lines, exactly as stored, oldest first
  uint64_t skipped = 0;            // lines that are not JSON records (reported, not matched)
};

SearchResult Search(const std::vector<LogFile>& files, const SearchFilter& filter);

// A fixed-width table: TIME EVENT OUTCOME SESSION SECRET STEP PROVIDER RULE HMAC, a header line,
// one row per line; empty fields print "-", HMACs are cut to "hmac-sha256:" + 16 hex digits +
// "...". STEP is "<stage> #<index> line <line>" with unknown parts left out ("build #2 line 7").
std::string FormatTable(const std::vector<std::string>& lines);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_SEARCH_H_
