// ImageConfig: the runtime part of an OCI image config ("config" in the OCI image-spec JSON)
// plus the Docker extensions the Dockerfile can set (Shell, Healthcheck, OnBuild).
//
// The frontend evaluates Dockerfile metadata instructions into it; the image writer
// (builder/image) serialises it to and from OCI JSON. A plain value type: copy it to clone a
// stage's config (every FROM starts from a fresh copy of its base's).
#ifndef LATCHKEY_BUILDER_FRONTEND_IMAGE_CONFIG_H_
#define LATCHKEY_BUILDER_FRONTEND_IMAGE_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace latchkey::frontend {

// The PATH a scratch stage starts with (BuildKit's default on Linux).
inline constexpr const char* kDefaultPathEnv =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct HealthConfig {
  std::vector<std::string> test;  // ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int32_t retries = 0;
  friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

struct HistoryEntry {
  std::string created;     // RFC 3339, empty to omit
  std::string created_by;  // "RUN /bin/sh -c make" (never mount flags or secret values)
  std::string comment;
  bool empty_layer = false;
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

struct ImageConfig {
  // Platform.
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;

  // Runtime config ("config" object).
  std::string user;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;         // "KEY=value", in order, keys unique
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<std::vector<std::string>> shell;  // Docker extension; unset = ["/bin/sh", "-c"]
  std::optional<HealthConfig> healthcheck;        // Docker extension
  std::vector<std::string> on_build;              // Docker extension: trigger instructions

  // Image-level fields.
  std::string created;  // RFC 3339
  std::string author;
  std::vector<std::string> diff_ids;  // "sha256:<hex>" of each uncompressed layer
  std::vector<HistoryEntry> history;

  // An empty config for `FROM scratch`: WORKDIR "/" and the default PATH.
  static ImageConfig Scratch() {
    ImageConfig c;
    c.working_dir = "/";
    c.env.push_back(kDefaultPathEnv);
    return c;
  }

  // The value of environment variable `key`, if set.
  std::optional<std::string> GetEnv(const std::string& key) const {
    for (const auto& kv : env) {
      if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
        return kv.substr(key.size() + 1);
      }
    }
    return std::nullopt;
  }
  // Sets or replaces `key` keeping its position (appends when new), as Docker does.
  void SetEnv(const std::string& key, const std::string& value) {
    for (auto& kv : env) {
      if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
        kv = key + "=" + value;
        return;
      }
    }
    env.push_back(key + "=" + value);
  }

  friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_IMAGE_CONFIG_H_
