// Timestamps in audit records: RFC 3339, UTC, millisecond precision ("2026-11-27T14:46:19.123Z"),
// and the parsing the search tool needs. Pure functions; thread-safe.
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_TIME_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_TIME_H_

#include <chrono>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::audit {

using TimePoint = std::chrono::system_clock::time_point;

// "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatRfc3339Ms(TimePoint t);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". INVALID_ARGUMENT otherwise.
Result<TimePoint> ParseRfc3339(std::string_view text);

// Parses a --since/--until value: an RFC 3339 time, or a duration before `now` written as a
// positive integer followed by s, m, h or d ("90s", "30m", "24h", "7d"). INVALID_ARGUMENT:
// "invalid time \"x\": expected RFC 3339 (2026-01-02T15:04:05Z) or a duration like 24h".
Result<TimePoint> ParseTimeOrDuration(std::string_view text, TimePoint now);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_TIME_H_
