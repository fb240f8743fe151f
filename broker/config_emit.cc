// EmitConfigYaml and LooksLikeSecretKey (declared in config.h).
#include <yaml-cpp/yaml.h>

#include <cctype>

#include "broker/config.h"
#include "broker/config_yaml.h"

namespace latchkey {
namespace {

constexpr const char* kMask = "****";

std::vector<std::string> Words(const std::string& key) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : key) {
    if (c == '_' || c == '-' || c == '.') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

void EmitStrings(YAML::Emitter& out, const char* key, const std::vector<std::string>& items) {
  if (items.empty()) return;
  out << YAML::Key << key << YAML::Value;
  if (items.size() == 1) {
    out << YAML::DoubleQuoted << items[0];
    return;
  }
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : items) out << YAML::DoubleQuoted << s;
  out << YAML::EndSeq;
}

void EmitGlobs(YAML::Emitter& out, const char* key, const std::vector<Glob>& globs) {
  std::vector<std::string> patterns;
  for (const auto& g : globs) patterns.push_back(g.pattern());
  EmitStrings(out, key, patterns);
}

void EmitRule(YAML::Emitter& out, const PolicyRule& r) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << r.name;
  out << YAML::Key << "allow" << YAML::Value << r.allow;
  out << YAML::Key << "reason" << YAML::Value << YAML::DoubleQuoted << r.reason;
  EmitGlobs(out, "secret", r.secrets);
  EmitStrings(out, "provider", r.providers);
  std::vector<std::string> sources;
  for (auto k : r.sources) sources.push_back(SecretSourceKindName(k));
  EmitStrings(out, "source", sources);
  EmitGlobs(out, "user", r.users);
  if (!r.uids.empty()) {
    out << YAML::Key << "uid" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (uint32_t u : r.uids) out << u;
    out << YAML::EndSeq;
  }
  EmitGlobs(out, "client_cn", r.client_cns);
  if (!r.labels.empty()) {
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, g] : r.labels) {
      out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << g.pattern();
    }
    out << YAML::EndMap;
  }
  EmitGlobs(out, "dockerfile", r.dockerfiles);
  EmitGlobs(out, "context", r.contexts);
  EmitStrings(out, "path_under", r.path_under);
  EmitStrings(out, "path_not_under", r.path_not_under);
  if (r.kind != RequestKind::kSecret) {
    out << YAML::Key << "kind" << YAML::Value << RequestKindName(r.kind);
  }
  EmitGlobs(out, "host", r.hosts);
  EmitGlobs(out, "repository", r.repositories);
  EmitStrings(out, "scope", r.scopes);
  out << YAML::EndMap;
}

}  // namespace

bool LooksLikeSecretKey(const std::string& /*plugin*/, const std::string& key) {
  static const std::vector<std::string> kSecretWords = {
      "password", "passwd", "passphrase", "token",       "secret",
      "key",      "apikey", "credential", "credentials", "auth"};
  static const std::vector<std::string> kLocationWords = {"file", "path", "dir", "env", "var"};
  std::vector<std::string> words = Words(key);
  if (words.empty()) return false;
  for (const auto& w : kLocationWords) {
    if (words.back() == w) return false;
  }
  for (const auto& w : words) {
    for (const auto& s : kSecretWords) {
      if (w == s) return true;
    }
  }
  return false;
}

std::string EmitConfigYaml(const Config& config, const IsSecretConfigKey& is_secret) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "state_dir" << YAML::Value << config.state_dir;

  out << YAML::Key << "plugins" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : config.plugins) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << p.name;
    out << YAML::Key << "path" << YAML::Value << p.path;
    if (!p.sha256.empty()) out << YAML::Key << "sha256" << YAML::Value << p.sha256;
    out << YAML::Key << "isolation" << YAML::Value << IsolationName(p.isolation);
    if (p.isolation == Isolation::kProcess) {
      out << YAML::Key << "max_crashes" << YAML::Value << p.max_crashes;
      out << YAML::Key << "crash_window" << YAML::Value << FormatDuration(p.crash_window);
      if (p.uid) out << YAML::Key << "uid" << YAML::Value << *p.uid;
      if (p.gid) out << YAML::Key << "gid" << YAML::Value << *p.gid;
      if (!p.keep_fds.empty()) {
        out << YAML::Key << "keep_fds" << YAML::Value << YAML::Flow << p.keep_fds;
      }
    }
    if (!p.config.empty()) {
      out << YAML::Key << "config" << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : p.config) {
        bool secret = is_secret ? is_secret(p.name, k) : LooksLikeSecretKey(p.name, k);
        out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << (secret ? kMask : v);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "fetch_timeout" << YAML::Value << FormatDuration(config.fetch_timeout);

  out << YAML::Key << "secrets" << YAML::Value;
  if (config.secrets.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    out << YAML::BeginMap;
    for (const auto& s : config.secrets) {
      out << YAML::Key << s.id << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "provider" << YAML::Value << s.provider;
      out << YAML::Key << "ref" << YAML::Value << YAML::DoubleQuoted << s.ref;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }

  out << YAML::Key << "policy" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "rules" << YAML::Value;
  if (config.policy.rules().empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  } else {
    out << YAML::BeginSeq;
    for (const auto& r : config.policy.rules()) EmitRule(out, r);
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;

  const AuditConfig& a = config.audit;
  out << YAML::Key << "audit" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "path" << YAML::Value << a.path;
  out << YAML::Key << "fsync" << YAML::Value << AuditFsyncName(a.fsync);
  out << YAML::Key << "timeout" << YAML::Value << FormatDuration(a.timeout);
  out << YAML::Key << "rotation" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_bytes" << YAML::Value << a.rotation_max_bytes;
  out << YAML::Key << "max_files" << YAML::Value << a.rotation_max_files;
  out << YAML::EndMap;
  out << YAML::Key << "checkpoint_interval" << YAML::Value << a.checkpoint_interval;
  out << YAML::Key << "hmac_key_file" << YAML::Value << a.hmac_key_file;
  out << YAML::Key << "signing_key_file" << YAML::Value << a.signing_key_file;
  out << YAML::EndMap;

  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << config.log.format;
  out << YAML::Key << "level" << YAML::Value << config.log.level;
  out << YAML::EndMap;

  if (config.builder.present) {
    out << YAML::Key << "builder" << YAML::Value << YAML::BeginMap;
    if (!config.builder.runtime.empty()) {
      out << YAML::Key << "runtime" << YAML::Value << config.builder.runtime;
    }
    if (!config.builder.use.empty()) {
      out << YAML::Key << "use" << YAML::Value << config.builder.use;
    }
    if (!config.builder.state_dir.empty()) {
      out << YAML::Key << "state_dir" << YAML::Value << config.builder.state_dir;
    }
    if (config.builder.gc_present) {
      out << YAML::Key << "gc" << YAML::Value << YAML::BeginMap;
      if (config.builder.gc_keep_storage) {
        out << YAML::Key << "keep_storage" << YAML::Value
            << std::to_string(*config.builder.gc_keep_storage);
      }
      if (config.builder.gc_keep_duration) {
        out << YAML::Key << "keep_duration" << YAML::Value
            << FormatDuration(*config.builder.gc_keep_duration);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (config.store.present) {
    out << YAML::Key << "store" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "path" << YAML::Value << config.store.path;
    out << YAML::Key << "unlock_key_file" << YAML::Value << config.store.unlock_key_file;
    out << YAML::EndMap;
  }
  if (!config.registries.empty()) {
    out << YAML::Key << "registries" << YAML::Value << YAML::BeginMap;
    for (const auto& r : config.registries) {
      out << YAML::Key << YAML::DoubleQuoted << r.host << YAML::Value << YAML::BeginMap;
      if (!r.provider.empty()) {
        out << YAML::Key << "provider" << YAML::Value << r.provider;
        out << YAML::Key << "ref" << YAML::Value << YAML::DoubleQuoted << r.ref;
      }
      if (!r.ca_file.empty()) out << YAML::Key << "ca_file" << YAML::Value << r.ca_file;
      if (!r.client_cert.empty()) {
        out << YAML::Key << "client_cert" << YAML::Value << r.client_cert;
        out << YAML::Key << "client_key" << YAML::Value << r.client_key;
      }
      out << YAML::Key << "insecure" << YAML::Value << r.insecure;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (!config.daemon.allowed_uids.empty() || !config.daemon.allowed_groups.empty()) {
    out << YAML::Key << "daemon" << YAML::Value << YAML::BeginMap;
    if (!config.daemon.allowed_uids.empty()) {
      out << YAML::Key << "allowed_uids" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (uint32_t u : config.daemon.allowed_uids) out << u;
      out << YAML::EndSeq;
    }
    if (!config.daemon.allowed_groups.empty()) {
      out << YAML::Key << "allowed_groups" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& g : config.daemon.allowed_groups) out << g;
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  if (!config.host.empty()) out << YAML::Key << "host" << YAML::Value << config.host;
  out << YAML::EndMap;
  std::string text = out.c_str();
  text += "\n";
  return text;
}

}  // namespace latchkey
