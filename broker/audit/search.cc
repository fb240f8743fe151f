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
    if (!found) return false;
  }
  if (!f.secret.empty() && Field(j, "secret") != f.secret) return false;
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

Status ValidateFilter(const SearchFilter& f) {
  if (!f.outcome.empty() && f.outcome != "granted" && f.outcome != "denied" &&
      f.outcome != "not_found" && f.outcome != "error") {
    return InvalidArgumentError("invalid --outcome \"" + f.outcome +
                                "\": expected granted, denied, not_found or error");
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
      Json j = Json::parse(line.text, nullptr, false);
      if (!line.complete || j.is_discarded() || !j.is_object()) {
        ++result.skipped;
        continue;
      }
      if (Matches(j, filter)) result.lines.emplace_back(line.text);
    }
  }
  return result;
}

std::string FormatTable(const std::vector<std::string>& lines) {
  constexpr size_t kCols = 8;
  const std::array<const char*, kCols> header = {"TIME",   "EVENT",    "OUTCOME", "SESSION",
                                                 "SECRET", "PROVIDER", "RULE",    "HMAC"};
  std::vector<std::array<std::string, kCols>> rows;
  for (const std::string& text : lines) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) continue;
    std::string hmac = Field(j, "value_hmac");
    if (hmac.size() > kHmacPrefix.size() + 16)
      hmac = hmac.substr(0, kHmacPrefix.size() + 16) + "...";
    rows.push_back({Cell(Field(j, "time")), Cell(Field(j, "event")), Cell(Field(j, "outcome")),
                    Cell(Field(j, "session")), Cell(Field(j, "secret")), Cell(Field(j, "provider")),
                    Cell(Field(j, "rule")), hmac.empty() ? "-" : hmac});
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
