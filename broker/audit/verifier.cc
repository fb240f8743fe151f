#include "broker/audit/verifier.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "broker/audit/audit_format.h"
#include "broker/audit/audit_record.h"
#include "broker/audit/chain.h"

namespace latchkey::audit {

namespace {

using Json = nlohmann::ordered_json;

const std::set<std::string>& KnownEvents() {
  static const std::set<std::string> events = {
      "session.open", "secret.fetch",     "session.close",    "leak.finding", "cache.hit",
      "recovered",    "provider.crashed", "daemon.recovered", "ssh.forward",  kCheckpointEvent};
  return events;
}

bool IsString(const Json& j, const char* key) { return j.contains(key) && j[key].is_string(); }
bool IsUint(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned();
}

// The fields of an ssh.forward record (docs/audit-log.md): each one it must have, with its type,
// an outcome of the three, `error` exactly when not granted, and no field the format does not
// define. Returns what is wrong, or "" when nothing is.
std::string CheckSshForward(const Json& j) {
  static const std::set<std::string> allowed = {
      "v",     "log",      "seq",  "time",      "event", "session", "ssh", "outcome",
      "agent", "required", "step", "requester", "error", "peer",    "prev"};
  const std::string what = "ssh.forward record ";
  for (const auto& [key, value] : j.items()) {
    if (!allowed.count(key)) return what + "has an unknown field \"" + key + "\"";
  }
  for (const char* key : {"session", "ssh", "outcome", "agent", "requester"}) {
    if (!IsString(j, key)) return what + "has no string field \"" + key + "\"";
  }
  const std::string outcome = j["outcome"];
  if (outcome != "granted" && outcome != "not_found" && outcome != "unusable") {
    return what + "has outcome \"" + outcome + "\"; expected granted, not_found or unusable";
  }
  if (j.contains("required") && !j["required"].is_boolean()) {
    return what + "has a \"required\" that is not true or false";
  }
  if (outcome == "granted" ? j.contains("error") : !IsString(j, "error")) {
    return what + (outcome == "granted" ? "has an error but outcome granted"
                                        : "has no string field \"error\" for outcome " + outcome);
  }
  if (!j.contains("step") || !j["step"].is_object() || !IsString(j["step"], "stage") ||
      !IsString(j["step"], "instruction") || !j["step"].contains("index") ||
      !j["step"]["index"].is_number_integer() || !j["step"].contains("line") ||
      !j["step"]["line"].is_number_integer()) {
    return what + "has no valid \"step\" (stage, index, line, instruction)";
  }
  if (j.contains("peer") && !j["peer"].is_object()) {
    return what + "has a \"peer\" that is not an object";
  }
  return "";
}

struct Walker {
  explicit Walker(const VerifyOptions& o) : opts(o), key_id(KeyId(o.public_key)) {}

  const VerifyOptions& opts;
  VerifyReport report;
  std::string key_id;
  bool have_prev = false;
  uint64_t prev_seq = 0;
  std::string prev_hash;
  std::map<std::string, uint64_t> open_sessions;  // session -> seq of its session.open
  // Head file expectations.
  bool have_head = false;
  uint64_t head_seq = 0;
  std::string head_hash;
  bool head_seq_seen = false;

  bool Fail(const std::string& where, uint64_t seq, const std::string& what) {
    report.ok = false;
    report.failure = where + ": " + (seq != 0 ? "seq " + std::to_string(seq) + ": " : "") + what;
    return false;
  }

  bool CheckCheckpoint(const std::string& where, const Json& j, uint64_t seq,
                       const std::string& prev) {
    if (!IsString(j, "sig")) return Fail(where, seq, "checkpoint has no signature (sig missing)");
    for (const char* key : {"reason", "head", "key_id"}) {
      if (!IsString(j, key)) {
        return Fail(where, seq, std::string("checkpoint is missing field \"") + key + "\"");
      }
    }
    if (!IsUint(j, "count")) return Fail(where, seq, "checkpoint is missing field \"count\"");
    std::string head = j["head"];
    uint64_t count = j["count"];
    if (head != prev)
      return Fail(where, seq, "checkpoint head " + head + " is not its prev " + prev);
    if (count != seq - 1) {
      return Fail(where, seq,
                  "checkpoint count " + std::to_string(count) + " does not match its seq");
    }
    std::string kid = j["key_id"];
    if (kid != key_id) {
      return Fail(where, seq,
                  "checkpoint is signed by key " + kid + ", not by the given public key " + key_id);
    }
    std::string message = CheckpointMessage(report.log_id, seq, j["time"].get<std::string>(),
                                            j["reason"].get<std::string>(), head, count);
    if (!VerifyBase64(opts.public_key, message, j["sig"].get<std::string>())) {
      return Fail(where, seq, "bad checkpoint signature (forged or edited checkpoint)");
    }
    ++report.checkpoints;
    report.last_checkpoint_seq = seq;
    return true;
  }

  bool Line(const std::string& file, const RawLine& raw) {
    const std::string where = file + ":" + std::to_string(raw.number);
    if (!raw.complete) {
      return Fail(where, 0,
                  "incomplete record at end of file (no trailing newline): the file was "
                  "truncated mid-record or a write was interrupted");
    }
    ParsedLine parsed = ParseLine(raw.text);
    if (!parsed.ok()) return Fail(where, parsed.seq, parsed.error);
    const Json& j = parsed.json;
    const uint64_t seq = parsed.seq;
    const std::string& log = parsed.log;
    const std::string& event = parsed.event;
    const std::string& prev = parsed.prev;
    if (!KnownEvents().count(event)) return Fail(where, seq, "unknown event \"" + event + "\"");
    if (!have_prev) {
      report.log_id = log;
      report.first_seq = seq;
      if (seq == 1) {
        if (prev != GenesisHash(log)) {
          return Fail(where, seq,
                      "prev is not the genesis hash of log " + log +
                          " (records before it were "
                          "replaced)");
        }
      } else {
        report.warnings.push_back("the chain starts at seq " + std::to_string(seq) +
                                  ": records 1-" + std::to_string(seq - 1) +
                                  " are not in the given files (rotated away, or removed); "
                                  "the first record's link is not checked");
      }
    } else {
      if (log != report.log_id) {
        return Fail(
            where, seq,
            "log id " + log + " differs from " + report.log_id + " of the preceding records");
      }
      if (seq != prev_seq + 1) {
        if (seq > prev_seq + 1) {
          std::string missing = seq == prev_seq + 2
                                    ? "record " + std::to_string(prev_seq + 1) + " is"
                                    : "records " + std::to_string(prev_seq + 1) + "-" +
                                          std::to_string(seq - 1) + " are";
          return Fail(where, seq,
                      "follows seq " + std::to_string(prev_seq) + ": " + missing +
                          " missing (deleted or moved)");
        }
        return Fail(where, seq,
                    "follows seq " + std::to_string(prev_seq) +
                        ": records are out of order (reordered or duplicated)");
      }
      if (prev != prev_hash) {
        return Fail(where, seq,
                    "prev does not match the hash of record " + std::to_string(prev_seq) +
                        ": that record was edited, or records were replaced");
      }
    }
    if (event == kCheckpointEvent) {
      if (!CheckCheckpoint(where, j, seq, prev)) return false;
    } else if (event == "ssh.forward") {
      if (std::string bad = CheckSshForward(j); !bad.empty()) return Fail(where, seq, bad);
    } else if (event == "session.open" && IsString(j, "session")) {
      open_sessions[j["session"]] = seq;
    } else if (event == "session.close" && IsString(j, "session")) {
      open_sessions.erase(j["session"].get<std::string>());
    }
    have_prev = true;
    prev_seq = seq;
    prev_hash = Sha256Tagged(raw.text);
    report.last_seq = seq;
    ++report.records;
    if (have_head && seq == head_seq) {
      head_seq_seen = true;
      if (prev_hash != head_hash) {
        return Fail(opts.head_file_path, 0,
                    "the head file records hash " + head_hash + " for seq " +
                        std::to_string(head_seq) + " but that record hashes to " + prev_hash +
                        ": the log was rewritten");
      }
    }
    return true;
  }
};

}  // namespace

VerifyReport VerifyLog(const std::vector<LogFile>& files, const VerifyOptions& options) {
  Walker w(options);
  w.report.files = files.size();
  std::string head_log;
  if (!options.head_file_content.empty()) {
    Json h = Json::parse(options.head_file_content, nullptr, false);
    if (h.is_discarded() || !h.is_object() || !IsUint(h, "seq") || !IsString(h, "hash") ||
        !IsString(h, "log")) {
      w.Fail(options.head_file_path, 0, "not a valid head file");
      return w.report;
    }
    w.have_head = true;
    w.head_seq = h["seq"];
    w.head_hash = h["hash"];
    head_log = h["log"];
  }
  for (const LogFile& f : files) {
    for (const RawLine& line : SplitLines(f.content)) {
      if (!w.Line(f.path, line)) return w.report;
    }
  }
  VerifyReport& r = w.report;
  if (r.records == 0) {
    r.ok = false;
    r.failure = "no audit records in the given files";
    return r;
  }
  if (w.have_head) {
    if (head_log != r.log_id) {
      w.Fail(options.head_file_path, 0,
             "the head file belongs to log " + head_log + ", not " + r.log_id);
      return r;
    }
    if (w.head_seq > r.last_seq) {
      w.Fail(options.head_file_path, 0,
             "the head file records seq " + std::to_string(w.head_seq) +
                 " but the log ends at seq " + std::to_string(r.last_seq) + ": records " +
                 std::to_string(r.last_seq + 1) + "-" + std::to_string(w.head_seq) +
                 " were removed (truncated)");
      return r;
    }
    if (w.head_seq < r.last_seq) {
      r.warnings.push_back("the head file " + options.head_file_path + " is behind the log (seq " +
                           std::to_string(w.head_seq) + " < " + std::to_string(r.last_seq) +
                           "): its last update was lost");
    }
    if (!w.head_seq_seen && w.head_seq >= r.first_seq) {
      w.Fail(options.head_file_path, 0,
             "seq " + std::to_string(w.head_seq) + " from the head file is not in the log");
      return r;
    }
  }
  if (r.last_checkpoint_seq == 0) {
    r.warnings.push_back("no checkpoint: none of the " + std::to_string(r.records) +
                         " records is covered by a signature");
  } else if (r.last_seq > r.last_checkpoint_seq) {
    r.warnings.push_back(std::to_string(r.last_seq - r.last_checkpoint_seq) +
                         " records after the last checkpoint (seq " +
                         std::to_string(r.last_checkpoint_seq) +
                         ") are not covered by a signature");
  }
  for (const auto& [session, seq] : w.open_sessions) {
    r.warnings.push_back("session " + session + " (opened at seq " + std::to_string(seq) +
                         ") has no session.close: still running, or the log was cut short");
  }
  if (options.strict && !r.warnings.empty()) {
    r.ok = false;
    r.failure = "strict: " + r.warnings.front();
  }
  return r;
}

std::string FormatVerifyReport(const VerifyReport& r, const std::string& key_id) {
  std::string out;
  if (r.ok) {
    out = "OK: " + std::to_string(r.records) + " records (seq " + std::to_string(r.first_seq) +
          "-" + std::to_string(r.last_seq) + ") in " + std::to_string(r.files) +
          (r.files == 1 ? " file" : " files") + ", log " + r.log_id + "; " +
          std::to_string(r.checkpoints) + " checkpoints signed by " + key_id;
    if (r.last_checkpoint_seq != 0) {
      out += ", last at seq " + std::to_string(r.last_checkpoint_seq);
    }
    out += "\n";
  } else {
    out = "FAIL: " + r.failure + "\n";
  }
  for (const std::string& w : r.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace latchkey::audit
