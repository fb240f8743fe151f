// The audit log's line format (docs/audit-log.md, "Record format"): one serializer for event
// records, checkpoints and the head file, and one parser shared by the writer's recovery and the
// verifier, so the two can never read the format differently.
//
// A line is one compact JSON object with the keys in a fixed order (v, log, seq, time, event,
// <event fields>, prev); its hash (chain.h) covers its exact bytes, so the serializers below are
// the only code that may produce a line. Pure functions; thread-safe.
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_FORMAT_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_FORMAT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "broker/audit/audit_keys.h"
#include "broker/audit/audit_record.h"

namespace latchkey::audit {

// The canonical line of an event record, exactly as written (without the newline).
std::string SerializeRecord(const std::string& log_id, uint64_t seq, const std::string& time,
                            const AuditRecord& record, const std::string& prev);

// The canonical line of a checkpoint at `seq` covering every record before it: signs
// CheckpointMessage(log_id, seq, time, reason, prev, seq - 1) with keys.signing_key. `prev` is
// the hash of the line before it (the chain head it signs).
std::string SerializeCheckpoint(const AuditKeys& keys, const std::string& log_id, uint64_t seq,
                                const std::string& time, const std::string& reason,
                                const std::string& prev);

// The head file's content without the newline: the last durable record's seq and hash.
std::string SerializeHead(const std::string& log_id, uint64_t seq, const std::string& hash,
                          const std::string& time);

// One line read back. When `error` is non-empty the line is not a record and `error` says why,
// in the verifier's words ("not a JSON object", "missing field \"seq\"", ...); `seq` is then
// the line's seq when it could be read, else 0. When `error` is empty, every common field
// (v == kFormatVersion, log, seq, time, event, prev) is present with the right type; the event
// name is not checked against the known events.
struct ParsedLine {
  std::string error;
  uint64_t seq = 0;
  std::string log;
  std::string time;
  std::string event;
  std::string prev;
  nlohmann::ordered_json json;  // the whole object, for event-specific fields

  bool ok() const { return error.empty(); }
  bool is_checkpoint() const { return ok() && event == kCheckpointEvent; }
};

// Parses one line (without its newline). Never fails otherwise; see ParsedLine::error.
ParsedLine ParseLine(std::string_view text);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_FORMAT_H_
