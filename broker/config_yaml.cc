#include "broker/config_yaml.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "base/edit_distance.h"

namespace latchkey {

std::string KeyPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out.push_back('.');
  out.append(key.data(), key.size());
  return out;
}

std::string IndexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const std::string& c : candidates) {
    size_t d = base::EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best_d <= 2 && best_d < word.size()) return best;
  // A truncated key ("unlock_key" for "unlock_key_file"): the one candidate it starts.
  std::string prefixed;
  if (word.size() >= 3) {
    for (const std::string& c : candidates) {
      if (c.size() > word.size() && c.compare(0, word.size(), word) == 0) {
        if (!prefixed.empty()) return "";
        prefixed = c;
      }
    }
  }
  return prefixed;
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > 1'000'000'000'000LL) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit = 3'600'000;
      ++i;
    } else {
      return std::nullopt;
    }
    total += n * unit;
    if (total > 1'000'000'000'000'000LL) return std::nullopt;
  }
  return std::chrono::milliseconds(total);
}

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > (std::numeric_limits<uint64_t>::max() - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  uint64_t mult = 0;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB") {
    mult = 1ULL << 10;
  } else if (unit == "MiB") {
    mult = 1ULL << 20;
  } else if (unit == "GiB") {
    mult = 1ULL << 30;
  } else {
    return std::nullopt;
  }
  if (n > std::numeric_limits<uint64_t>::max() / mult) return std::nullopt;
  return n * mult;
}

void YamlChecker::ErrorAt(const YAML::Mark& mark, std::string_view path, std::string_view message) {
  std::string e = file_;
  if (!mark.is_null()) {
    e += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  e += ": ";
  if (!path.empty()) {
    e.append(path.data(), path.size());
    e += ": ";
  }
  e.append(message.data(), message.size());
  int line = mark.is_null() ? std::numeric_limits<int>::max() : mark.line;
  int column = mark.is_null() ? 0 : mark.column;
  errors_.push_back(Problem{line, column, std::move(e)});
}

void YamlChecker::Error(const YAML::Node& node, std::string_view path, std::string_view message) {
  ErrorAt(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), path, message);
}

Status YamlChecker::ToStatus() const {
  if (errors_.empty()) return Status::OK();
  std::vector<Problem> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  std::string all;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) all += "\n";
    all += sorted[i].text;
  }
  return InvalidArgumentError(all);
}

SourceMark YamlChecker::MarkOf(const YAML::Node& node) const {
  SourceMark m;
  m.file = file_;
  if (node.IsDefined()) {
    YAML::Mark mk = node.Mark();
    if (!mk.is_null()) {
      m.line = mk.line + 1;
      m.column = mk.column + 1;
    }
  }
  return m;
}

std::string YamlChecker::Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a sequence";
  std::string v = node.Scalar();
  if (v.size() > 60) v = v.substr(0, 57) + "...";
  return "\"" + v + "\"";
}

bool YamlChecker::ExpectMap(const YAML::Node& node, std::string_view path, bool allow_null) {
  if (node.IsMap()) return true;
  if (allow_null && node.IsNull()) return true;
  Error(node, path, "expected a mapping, got " + Describe(node));
  return false;
}

bool YamlChecker::ExpectSequence(const YAML::Node& node, std::string_view path, bool allow_null) {
  if (node.IsSequence()) return true;
  if (allow_null && node.IsNull()) return true;
  Error(node, path, "expected a list, got " + Describe(node));
  return false;
}

bool YamlChecker::CheckKeys(const YAML::Node& map, std::string_view path,
                            const std::vector<std::string>& known) {
  if (!map.IsMap()) return true;
  bool good = true;
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      Error(key, path, "expected a plain key, got " + Describe(key));
      good = false;
      continue;
    }
    const std::string& k = key.Scalar();
    std::string kp = KeyPath(path, k);
    if (!seen.insert(k).second) {
      Error(key, kp, "duplicate key");
      good = false;
      continue;
    }
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string hint = ClosestMatch(k, known);
      Error(key, kp, hint.empty() ? "unknown key" : "unknown key (did you mean " + hint + "?)");
      good = false;
    }
  }
  return good;
}

void YamlChecker::ForEachEntry(const YAML::Node& map, std::string_view path, std::string_view what,
                               const std::function<void(const MapEntry&)>& each) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar() || key.Scalar().empty()) {
      Error(key, path, "expected " + std::string(what) + ", got " + Describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string key_path = KeyPath(path, name);
    if (!seen.insert(name).second) {
      Error(key, key_path, "duplicate key");
      continue;
    }
    const YAML::Node value = it->second;
    each(MapEntry{key, name, key_path, value});
  }
}

bool YamlChecker::RequireKeys(const YAML::Node& map, std::string_view path,
                              std::initializer_list<const char*> keys) {
  if (!map.IsMap()) return false;
  bool good = true;
  for (const char* k : keys) {
    if (!map[k].IsDefined()) {
      Error(map, path, std::string("missing required key \"") + k + "\"");
      good = false;
    }
  }
  return good;
}

std::optional<std::string> YamlChecker::GetString(const YAML::Node& node, std::string_view path,
                                                  bool allow_empty) {
  if (!node.IsScalar()) {
    Error(node, path, "expected a string, got " + Describe(node));
    return std::nullopt;
  }
  if (!allow_empty && node.Scalar().empty()) {
    Error(node, path, "expected a non-empty string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<bool> YamlChecker::GetBool(const YAML::Node& node, std::string_view path) {
  if (node.IsScalar() && node.Tag() != "!") {
    const std::string& v = node.Scalar();
    if (v == "true" || v == "True" || v == "TRUE") return true;
    if (v == "false" || v == "False" || v == "FALSE") return false;
  }
  Error(node, path, "expected a boolean, got " + Describe(node));
  return std::nullopt;
}

std::optional<int64_t> YamlChecker::GetInt(const YAML::Node& node, std::string_view path,
                                           int64_t min, int64_t max) {
  if (node.IsScalar() && node.Tag() != "!") {
    const std::string& v = node.Scalar();
    bool digits = !v.empty() && v.size() <= 18 &&
                  std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      int64_t n = std::stoll(v);
      if (n >= min && n <= max) return n;
      Error(node, path,
            "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                ", got " + v);
      return std::nullopt;
    }
  }
  Error(node, path, "expected an integer, got " + Describe(node));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> YamlChecker::GetDuration(const YAML::Node& node,
                                                                  std::string_view path) {
  if (node.IsScalar()) {
    auto d = ParseDuration(node.Scalar());
    if (d) return d;
  }
  Error(node, path, "expected a duration such as 5s or 500ms, got " + Describe(node));
  return std::nullopt;
}

std::optional<uint64_t> YamlChecker::GetByteSize(const YAML::Node& node, std::string_view path) {
  if (node.IsScalar()) {
    auto n = ParseByteSize(node.Scalar());
    if (n) return n;
  }
  Error(node, path, "expected a size such as 67108864 or 64MiB, got " + Describe(node));
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlChecker::GetStringList(const YAML::Node& node,
                                                                   std::string_view path) {
  if (node.IsScalar()) {
    auto s = GetString(node, path);
    if (!s) return std::nullopt;
    return std::vector<std::string>{*s};
  }
  if (!node.IsSequence()) {
    Error(node, path, "expected a string or a list of strings, got " + Describe(node));
    return std::nullopt;
  }
  if (node.size() == 0) {
    Error(node, path, "expected a string or a non-empty list of strings, got an empty list");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool good = true;
  for (size_t i = 0; i < node.size(); ++i) {
    auto s = GetString(node[i], IndexPath(path, i));
    if (s) {
      out.push_back(*s);
    } else {
      good = false;
    }
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<std::string> YamlChecker::GetOpaqueScalar(const YAML::Node& node,
                                                        std::string_view path) {
  if (node.IsScalar()) return node.Scalar();
  Error(node, path,
        "expected a scalar value, got " + std::string(node.IsNull()  ? "null"
                                                      : node.IsMap() ? "a mapping"
                                                                     : "a sequence"));
  return std::nullopt;
}

}  // namespace latchkey
