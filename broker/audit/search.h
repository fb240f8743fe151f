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
  // "hmac-sha256:<hex>" or a prefix of it (at least 16 hex digits); matches a grant's
  // value_hmac or part_hmacs, or a session.open's label_hmacs.
  std::string hmac;
  std::string secret;              // exact secret id; "ssh:<id>" finds ssh.forward records
  std::string session;             // exact session id
  std::string outcome;             // granted | denied | not_found | error | unusable
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

// The HMAC key ids (audit_keys.h HmacKeyId) the checkpoints of `files` record, in order of first
// appearance; empty for logs written before checkpoints carried them.
std::vector<std::string> HmacKeyIds(const std::vector<LogFile>& files);

// For `search --hmac`: FAILED_PRECONDITION when the log records HMAC key ids and `key_id` (of
// the key file `key_path`) is none of them, since a value hashed with that key can never match:
// "HMAC key <key_path> (<key_id>) is not the key the audit log <log> was written with (<ids>):
// no value hashed with it can match; hash the value with the log's key (--hmac-key, or the
// --config / --state-dir of the builds that wrote the log)". OK when it is, or when the log
// records none.
Status CheckHmacKey(const std::vector<LogFile>& files, const std::string& key_id,
                    const std::string& key_path);

// A fixed-width table: TIME EVENT OUTCOME SESSION SECRET STEP PROVIDER RULE HMAC, a header line,
// one row per line; empty fields print "-", HMACs are cut to "hmac-sha256:" + 16 hex digits +
// "...". STEP is "<stage> #<index> line <line>" with unknown parts left out ("build #2 line 7").
std::string FormatTable(const std::vector<std::string>& lines);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_SEARCH_H_
