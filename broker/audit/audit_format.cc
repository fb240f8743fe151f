#include "broker/audit/audit_format.h"

#include "broker/audit/chain.h"

namespace latchkey::audit {

namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool IsString(const Json& j, const char* key) { return j.contains(key) && j[key].is_string(); }

// The keys every line starts with, in their fixed order.
Json LineStart(const std::string& log_id, uint64_t seq, const std::string& time,
               const std::string& event) {
  Json j = Json::object();
  j["v"] = kFormatVersion;
  j["log"] = log_id;
  j["seq"] = seq;
  j["time"] = time;
  j["event"] = event;
  return j;
}

}  // namespace

std::string SerializeRecord(const std::string& log_id, uint64_t seq, const std::string& time,
                            const AuditRecord& record, const std::string& prev) {
  Json j = LineStart(log_id, seq, time, EventName(record));
  AppendEventFields(record, &j);
  j["prev"] = prev;
  return Dump(j);
}

std::string SerializeCheckpoint(const AuditKeys& keys, const std::string& log_id, uint64_t seq,
                                const std::string& time, const std::string& reason,
                                const std::string& prev) {
  uint64_t count = seq - 1;
  std::string sig = SignBase64(keys, CheckpointMessage(log_id, seq, time, reason, prev, count));
  Json j = LineStart(log_id, seq, time, kCheckpointEvent);
  j["reason"] = reason;
  j["head"] = prev;
  j["count"] = count;
  j["key_id"] = keys.key_id;
  j["hmac_key_id"] = HmacKeyId(keys.hmac_key);
  j["sig"] = sig;
  j["prev"] = prev;
  return Dump(j);
}

std::string SerializeHead(const std::string& log_id, uint64_t seq, const std::string& hash,
                          const std::string& time) {
  return Dump(
      Json{{"v", kFormatVersion}, {"log", log_id}, {"seq", seq}, {"hash", hash}, {"time", time}});
}

ParsedLine ParseLine(std::string_view text) {
  ParsedLine p;
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    p.error = "not a JSON object";
    return p;
  }
  if (!j.contains("v") || !j["v"].is_number_integer() || j["v"] != kFormatVersion) {
    p.error = "unsupported or missing format version \"v\" (expected 1)";
    return p;
  }
  if (!j.contains("seq") || !j["seq"].is_number_unsigned()) {
    p.error = "missing field \"seq\"";
    return p;
  }
  p.seq = j["seq"];
  for (const char* key : {"log", "time", "event", "prev"}) {
    if (!IsString(j, key)) {
      p.error = std::string("missing field \"") + key + "\"";
      return p;
    }
  }
  p.log = j["log"];
  p.time = j["time"];
  p.event = j["event"];
  p.prev = j["prev"];
  p.json = std::move(j);
  return p;
}

}  // namespace latchkey::audit
