#include "broker/audit/search.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace latchkey::audit {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kHmacPrefix = "hmac-sha256:";
constexpr size_t kMaxColumn = 40;

std::string Field(const Json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// A field of a record, or for a cache.hit record the comma-joined field of its `secrets`.
std::string FieldOrSecrets(const Json& j, const char* key) {
  if (!j.contains("secrets") || !j["secrets"].is_array()) return Field(j, key);
  std::string out;
  for (const Json& e : j["secrets"]) {
    if (!e.is_object()) continue;
    out += (out.empty() ? "" : ",") + Field(e, key);
  }
  return out;
}

// An ssh.forward record names its agent "ssh:<id>" where the others name a secret.
std::string SshName(const Json& j) {
  std::string ssh = Field(j, "ssh");
  return Field(j, "event") == "ssh.forward" && !ssh.empty() ? "ssh:" + ssh : "";
}

bool HasSecret(const Json& j, const std::string& id) {
  if (Field(j, "secret") == id) return true;
  if (!id.empty() && SshName(j) == id) return true;
  if (!j.contains("secrets") || !j["secrets"].is_array()) return false;
  for (const Json& e : j["secrets"]) {
    if (e.is_object() && Field(e, "secret") == id) return true;
  }
  return false;
}

bool Matches(const Json& j, const SearchFilter& f) {
  if (!f.hmac.empty()) {
    auto matches = [&](const std::string& h) {
      return !h.empty() && h.compare(0, f.hmac.size(), f.hmac) == 0;
    };
    bool found = matches(Field(j, "value_hmac"));
    if (!found && j.contains("part_hmacs") && j["part_hmacs"].is_array()) {
      for (const auto& h : j["part_hmacs"]) {
        if (h.is_string() && matches(h.get<std::string>())) found = true;
      }
    }
    if (!found && j.contains("label_hmacs") && j["label_hmacs"].is_object()) {
      for (const auto& [key, h] : j["label_hmacs"].items()) {
        if (h.is_string() && matches(h.get<std::string>())) found = true;
      }
    }
    if (!found) return false;
  }
  if (!f.secret.empty() && !HasSecret(j, f.secret)) return false;
  if (!f.session.empty() && Field(j, "session") != f.session) return false;
  if (!f.outcome.empty() && Field(j, "outcome") != f.outcome) return false;
  if (!f.event.empty() && Field(j, "event") != f.event) return false;
  if (f.since || f.until) {
    auto t = ParseRfc3339(Field(j, "time"));
    if (!t.ok()) return false;
    if (f.since && *t < *f.since) return false;
    if (f.until && *t > *f.until) return false;
  }
  return true;
}

std::string Cell(std::string s) {
  if (s.empty()) return "-";
  if (s.size() > kMaxColumn) s = s.substr(0, kMaxColumn - 3) + "...";
  return s;
}

}  // namespace

std::vector<std::string> HmacKeyIds(const std::vector<LogFile>& files) {
  std::vector<std::string> ids;
  for (const LogFile& file : files) {
    for (const RawLine& line : SplitLines(file.content)) {
      if (line.text.find("\"hmac_key_id\"") == std::string_view::npos) continue;
      Json j = Json::parse(std::string(line.text), nullptr, /*allow_exceptions=*/false);
      if (!j.is_object() || Field(j, "event") != "audit.checkpoint") continue;
      std::string id = Field(j, "hmac_key_id");
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
  }
  return ids;
}

Status CheckHmacKey(const std::vector<LogFile>& files, const std::string& key_id,
                    const std::string& key_path) {
  std::vector<std::string> ids = HmacKeyIds(files);
  if (ids.empty() || std::find(ids.begin(), ids.end(), key_id) != ids.end()) return Status::OK();
  std::string logged;
  for (const std::string& id : ids) logged += (logged.empty() ? "" : ", ") + id;
  return FailedPreconditionError(
      "HMAC key " + key_path + " (" + key_id + ") is not the key the audit log " +
      (files.empty() ? std::string("?") : files.back().path) + " was written with (" + logged +
      "): no value hashed with it can match; hash the value with the log's key (--hmac-key, or "
      "the --config / --state-dir of the builds that wrote the log)");
}

Status ValidateFilter(const SearchFilter& f) {
  if (!f.outcome.empty() && f.outcome != "granted" && f.outcome != "denied" &&
      f.outcome != "not_found" && f.outcome != "error" && f.outcome != "unusable") {
    return InvalidArgumentError("invalid --outcome \"" + f.outcome +
                                "\": expected granted, denied, not_found, error or unusable");
  }
  if (!f.hmac.empty() &&
      (f.hmac.compare(0, kHmacPrefix.size(), kHmacPrefix) != 0 || f.hmac.size() < 16 + 12)) {
    return InvalidArgumentError("invalid --hmac \"" + f.hmac +
                                "\": expected hmac-sha256:<hex> (at least 16 hex digits), as "
                                "printed by `latchkey audit hash`");
  }
  return Status::OK();
}

SearchResult Search(const std::vector<LogFile>& files, const SearchFilter& filter) {
  SearchResult result;
  for (const LogFile& f : files) {
    for (const RawLine& line : SplitLines(f.content)) {
      Json j = Json::parse(std::string(line.text), nullptr, false);
      if (!line.complete || j.is_discarded() || !j.is_object()) {
        ++result.skipped;
        continue;
      }
      if (Matches(j, filter)) result.lines.emplace_back(line.text);
    }
  }
  return result;
}

namespace {

// The STEP cell: "<stage> #<index> line <line>", parts that are unknown left out
// ("build #2 line 7", "#0 line 3"); "-" for records without a step. A registry credential
// request says what the registry client was about to do instead: "<scope> <repository>"
// ("pull team/base", "push team/app").
std::string StepCell(const Json& j) {
  if (auto reg = j.find("registry"); reg != j.end() && reg->is_object()) {
    std::string out = Field(*reg, "scope");
    std::string repository = Field(*reg, "repository");
    if (!repository.empty()) out += (out.empty() ? "" : " ") + repository;
    return Cell(out);
  }
  auto it = j.find("step");
  if (it == j.end() || !it->is_object()) return "-";
  std::string out = Field(*it, "stage");
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  if (auto i = it->find("index");
      i != it->end() && i->is_number_integer() && i->get<int64_t>() >= 0) {
    add("#" + std::to_string(i->get<int64_t>()));
  }
  if (auto l = it->find("line");
      l != it->end() && l->is_number_integer() && l->get<int64_t>() > 0) {
    add("line " + std::to_string(l->get<int64_t>()));
  }
  return Cell(out);
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& lines) {
  constexpr size_t kCols = 9;
  const std::array<const char*, kCols> header = {"TIME", "EVENT",    "OUTCOME", "SESSION", "SECRET",
                                                 "STEP", "PROVIDER", "RULE",    "HMAC"};
  std::vector<std::array<std::string, kCols>> rows;
  for (const std::string& text : lines) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) continue;
    std::string hmac = Field(j, "value_hmac");
    if (hmac.size() > kHmacPrefix.size() + 16)
      hmac = hmac.substr(0, kHmacPrefix.size() + 16) + "...";
    std::string ssh = SshName(j);
    rows.push_back({Cell(Field(j, "time")), Cell(Field(j, "event")), Cell(Field(j, "outcome")),
                    Cell(Field(j, "session")),
                    Cell(ssh.empty() ? FieldOrSecrets(j, "secret") : ssh), StepCell(j),
                    Cell(ssh.empty() ? FieldOrSecrets(j, "provider") : Field(j, "agent")),
                    Cell(FieldOrSecrets(j, "rule")), hmac.empty() ? "-" : hmac});
  }
  std::array<size_t, kCols> width{};
  for (size_t c = 0; c < kCols; ++c) width[c] = std::string_view(header[c]).size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < kCols; ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto emit = [&](const auto& cells) {
    std::string line;
    for (size_t c = 0; c < kCols; ++c) {
      std::string cell = cells[c];
      if (c + 1 < kCols) cell.resize(width[c] + 2, ' ');
      line += cell;
    }
    return line + "\n";
  };
  std::array<std::string, kCols> head;
  for (size_t c = 0; c < kCols; ++c) head[c] = header[c];
  std::string out = emit(head);
  for (const auto& row : rows) out += emit(row);
  return out;
}

}  // namespace latchkey::audit
