// YamlChecker: strict, typed reads of a yaml-cpp document that collect every problem as
// "<file>:<line>:<col>: <key path>: <what>" instead of throwing. Used by the configuration
// loader (config.cc) and the policy section parser (config_policy.cc).
//
// Conventions:
//   - key paths are dotted with list indices: "policy.rules[2].allow", "secrets.npmrc.ref";
//   - every Get* returns nullopt after recording an error, so callers keep going and the user
//     sees all problems at once;
//   - scalar values are quoted in messages; plugin config values are never echoed (they may
//     be secrets), only their kind.
//
// Thread-safety: one checker per load; not shared.
#ifndef LATCHKEY_BROKER_CONFIG_YAML_H_
#define LATCHKEY_BROKER_CONFIG_YAML_H_

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_mark.h"
#include "broker/duration_text.h"
#include "latchkey/status.h"

namespace latchkey {

// "a.b" / "a[3]" key path helpers.
std::string KeyPath(std::string_view parent, std::string_view key);
std::string IndexPath(std::string_view parent, size_t index);

// The closest of `candidates` to `word` (base::EditDistance) when close enough to be a likely typo
// (distance <= 2 and less than the word's length), else the only candidate that starts with
// `word` (at least 3 characters); "" otherwise.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// Parses "5s", "500ms", "1m30s", "2h" (units h, m, s, ms; at least one; no sign).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);
// FormatDuration (the way ParseDuration reads durations back): broker/duration_text.h.
// Parses "1048576", "512KiB", "64MiB", "1GiB", "100B".
std::optional<uint64_t> ParseByteSize(std::string_view text);

class YamlChecker {
 public:
  explicit YamlChecker(std::string file) : file_(std::move(file)) {}

  // Records "<file>:<line>:<col>: <path>: <message>" at `node`'s position ("<path>: " is
  // omitted when path is empty).
  void Error(const YAML::Node& node, std::string_view path, std::string_view message);
  void ErrorAt(const YAML::Mark& mark, std::string_view path, std::string_view message);

  bool ok() const { return errors_.empty(); }
  // INVALID_ARGUMENT with every error, one per line, in file order (line, then column; errors
  // without a position last); OK when none.
  Status ToStatus() const;

  SourceMark MarkOf(const YAML::Node& node) const;

  // True for a mapping; a null node counts as an empty mapping when allow_null. Otherwise
  // records "expected a mapping, got ..." and returns false.
  bool ExpectMap(const YAML::Node& node, std::string_view path, bool allow_null = true);
  // Same for sequences.
  bool ExpectSequence(const YAML::Node& node, std::string_view path, bool allow_null = true);

  // Checks a mapping's keys: each a scalar, no duplicates, each in `known` (else "unknown key
  // (did you mean X?)"). Returns false when any key was bad.
  bool CheckKeys(const YAML::Node& map, std::string_view path,
                 const std::vector<std::string>& known);
  // An entry of a mapping, as ForEachEntry hands it on.
  struct MapEntry {
    const YAML::Node& key;    // the key node (error positions, marks)
    const std::string& name;  // its text: a non-empty scalar
    const std::string& path;  // KeyPath(<the mapping's path>, name)
    const YAML::Node& value;
  };
  // Calls `each` for every entry of the mapping `map` (at `path`), in document order, whose
  // key is a non-empty scalar not seen before in it. Records "expected <what>, got <key>" at
  // `path` for any other key and "duplicate key" at the entry's path for a repeated one, and
  // skips those entries. `what` names the key: "a plain key", "a secret id".
  void ForEachEntry(const YAML::Node& map, std::string_view path, std::string_view what,
                    const std::function<void(const MapEntry&)>& each);
  // Records "missing required key \"k\"" at the mapping for each absent key.
  bool RequireKeys(const YAML::Node& map, std::string_view path,
                   std::initializer_list<const char*> keys);

  // Typed scalar reads; each records "expected <type>, got <what>" on a mismatch.
  std::optional<std::string> GetString(const YAML::Node& node, std::string_view path,
                                       bool allow_empty = false);
  std::optional<bool> GetBool(const YAML::Node& node, std::string_view path);
  std::optional<int64_t> GetInt(const YAML::Node& node, std::string_view path, int64_t min,
                                int64_t max);
  std::optional<std::chrono::milliseconds> GetDuration(const YAML::Node& node,
                                                       std::string_view path);
  std::optional<uint64_t> GetByteSize(const YAML::Node& node, std::string_view path);
  // One string or a list of strings (a list must not be empty).
  std::optional<std::vector<std::string>> GetStringList(const YAML::Node& node,
                                                        std::string_view path);
  // A scalar of any kind, as text; for values that must never be echoed (plugin config).
  std::optional<std::string> GetOpaqueScalar(const YAML::Node& node, std::string_view path);

  // How a node is described after "got": "\"maybe\"", "a mapping", "a sequence", "null".
  static std::string Describe(const YAML::Node& node);

 private:
  struct Problem {
    int line;  // 0-based; INT_MAX when unknown
    int column;
    std::string text;
  };
  std::string file_;
  std::vector<Problem> errors_;
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_CONFIG_YAML_H_
