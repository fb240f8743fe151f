#include "broker/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

#include "base/byte_size.h"
#include "base/path.h"
#include "broker/builder_value.h"
#include "broker/config_policy.h"
#include "broker/config_yaml.h"
#include "broker/state_dir.h"

namespace latchkey {
namespace {

const std::vector<std::string> kBundledPlugins = {"file", "env", "store", "dockerconfig"};

bool HasKey(const PluginConfig& p, std::string_view key) {
  return std::any_of(p.config.begin(), p.config.end(),
                     [&](const auto& kv) { return kv.first == key; });
}

// The store plugin reads the store that `latchkey store` and `latchkey secret` use: `path`
// defaults to store.path and, unless one of the two unlock keys is set, `unlock_key_file` to
// store.unlock_key_file.
void ApplyStoreDefaults(const StoreConfig& store, PluginConfig* p) {
  if (!HasKey(*p, "path")) p->config.emplace_back("path", store.path);
  if (!HasKey(*p, "unlock_key_file") && !HasKey(*p, "passphrase_fd")) {
    p->config.emplace_back("unlock_key_file", store.unlock_key_file);
  }
}

std::string Cwd(const ConfigContext& ctx) {
  if (!ctx.cwd.empty()) return ctx.cwd;
  char buf[4096];
  if (::getcwd(buf, sizeof(buf)) != nullptr) return buf;
  return "/";
}

std::string ProviderDir(const ConfigContext& ctx) {
  return JoinPath(ctx.exe_dir.empty() ? "/usr/bin" : ctx.exe_dir, "../lib/latchkey/providers");
}

PluginConfig BundledPlugin(const std::string& name, const ConfigContext& ctx) {
  PluginConfig p;
  p.name = name;
  p.path = ProviderDir(ctx) + "/latchkey-" + name + ".so";
  p.bundled = true;
  p.isolation = Isolation::kInline;
  return p;
}

bool ValidPluginName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  if (!(n[0] >= 'a' && n[0] <= 'z')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// The parts of ParseConfig, each recording problems in `c`.
class Parser {
 public:
  Parser(const std::string& source, const ConfigContext& ctx, std::string base_dir)
      : c_(source), ctx_(ctx), base_dir_(std::move(base_dir)) {}

  Result<Config> Run(const YAML::Node& root, const std::string& source) {
    Config cfg;
    cfg.source = source;
    cfg.provider_dir = ProviderDir(ctx_);
    cfg.provider_host =
        JoinPath(ctx_.exe_dir.empty() ? "/usr/bin" : ctx_.exe_dir, "latchkey-provider-host");
    for (const auto& name : kBundledPlugins) cfg.plugins.push_back(BundledPlugin(name, ctx_));
    std::string configured_state_dir;
    if (!root.IsNull()) {
      if (!c_.ExpectMap(root, "", false)) return c_.ToStatus();
      c_.CheckKeys(root, "",
                   {"state_dir", "plugins", "fetch_timeout", "secrets", "policy", "audit", "log",
                    "builder", "store", "registries", "daemon", "host"});
      if (root["state_dir"]) {
        auto s = Path(root["state_dir"], "state_dir");
        if (s) configured_state_dir = *s;
      }
      Plugins(root["plugins"], &cfg);
      if (root["fetch_timeout"]) {
        auto d = c_.GetDuration(root["fetch_timeout"], "fetch_timeout");
        if (d && d->count() == 0) {
          c_.Error(root["fetch_timeout"], "fetch_timeout", "must be greater than 0");
        } else if (d) {
          cfg.fetch_timeout = *d;
        }
      }
    }
    std::vector<std::string> provider_names;
    for (const auto& p : cfg.plugins) provider_names.push_back(p.name);
    if (!root.IsNull()) {
      Secrets(root["secrets"], provider_names, &cfg);
      cfg.policy = Policy(ParsePolicySection(root["policy"], provider_names, c_));
    }
    auto state_dir = ResolveStateDir(configured_state_dir, ctx_.env, ctx_.euid);
    if (!state_dir.ok()) {
      if (!c_.ok()) return c_.ToStatus();
      return state_dir.status();
    }
    cfg.state_dir = *state_dir;
    cfg.audit.path = JoinPath(cfg.state_dir, "audit/audit.log");
    cfg.audit.hmac_key_file = JoinPath(cfg.state_dir, "audit-hmac.key");
    cfg.audit.signing_key_file = JoinPath(cfg.state_dir, "audit-signing.key");
    if (!root.IsNull()) {
      Audit(root["audit"], &cfg.audit);
      Log(root["log"], &cfg.log);
      Builder(root["builder"], &cfg.builder);
      Store(root["store"], &cfg.store);
      Registries(root["registries"], provider_names, &cfg);
      Daemon(root["daemon"], &cfg.daemon);
      if (root["host"]) Host(root["host"], &cfg);
    }
    if (!c_.ok()) return c_.ToStatus();
    cfg.certs_dir = source.empty() ? kDefaultCertsDir : JoinPath(base_dir_, "certs.d");
    if (!cfg.store.present) {
      cfg.store.path = JoinPath(cfg.state_dir, "store/secrets.db");
      cfg.store.unlock_key_file = JoinPath(cfg.state_dir, "store/unlock.key");
    }
    for (auto& p : cfg.plugins) {
      if (p.name == "store") ApplyStoreDefaults(cfg.store, &p);
    }
    return cfg;
  }

 private:
  std::optional<std::string> Path(const YAML::Node& n, const std::string& path) {
    auto s = c_.GetString(n, path);
    if (!s) return std::nullopt;
    return JoinPath(base_dir_, *s);
  }

  void Plugins(const YAML::Node& node, Config* cfg) {
    if (!node.IsDefined() || !c_.ExpectSequence(node, "plugins")) return;
    if (node.IsNull()) return;
    std::map<std::string, SourceMark> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      std::string path = IndexPath("plugins", i);
      const YAML::Node item = node[i];
      if (!c_.ExpectMap(item, path, false)) continue;
      c_.CheckKeys(item, path,
                   {"name", "path", "sha256", "config", "isolation", "max_crashes", "crash_window",
                    "uid", "gid", "keep_fds"});
      c_.RequireKeys(item, path, {"name"});
      PluginConfig p;
      p.where = c_.MarkOf(item);
      if (item["name"]) {
        auto name = c_.GetString(item["name"], KeyPath(path, "name"));
        if (!name) continue;
        if (!ValidPluginName(*name)) {
          c_.Error(item["name"], KeyPath(path, "name"),
                   "invalid plugin name \"" + *name +
                       "\": use lowercase letters, digits, '-' and '_', starting with a letter");
          continue;
        }
        auto [it, inserted] = seen.emplace(*name, p.where);
        if (!inserted) {
          c_.Error(item["name"], KeyPath(path, "name"),
                   "duplicate plugin name \"" + *name + "\" (first defined at " +
                       it->second.ToString() + ")");
          continue;
        }
        p.name = *name;
      } else {
        continue;
      }
      bool bundled = std::find(kBundledPlugins.begin(), kBundledPlugins.end(), p.name) !=
                     kBundledPlugins.end();
      if (item["path"]) {
        auto s = Path(item["path"], KeyPath(path, "path"));
        if (s) p.path = *s;
      } else if (bundled) {
        p.path = BundledPlugin(p.name, ctx_).path;
      } else {
        c_.Error(item, path,
                 "missing required key \"path\" (only the bundled file, env and store plugins "
                 "have a default path)");
      }
      if (item["sha256"]) {
        auto s = c_.GetString(item["sha256"], KeyPath(path, "sha256"));
        if (s) {
          std::string lower = *s;
          for (char& ch : lower)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          bool hex = lower.size() == 64 && std::all_of(lower.begin(), lower.end(), [](char ch) {
                       return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
                     });
          if (!hex) {
            c_.Error(
                item["sha256"], KeyPath(path, "sha256"),
                "expected 64 hexadecimal digits (the output of sha256sum), got \"" + *s + "\"");
          } else {
            p.sha256 = lower;
          }
        }
      }
      if (item["config"]) PluginValues(item["config"], KeyPath(path, "config"), &p);
      p.bundled = bundled;
      p.isolation = bundled ? Isolation::kInline : Isolation::kProcess;
      IsolationKeys(item, path, &p);
      if (bundled) {
        for (auto& existing : cfg->plugins) {
          if (existing.name == p.name) existing = std::move(p);
        }
      } else {
        cfg->plugins.push_back(std::move(p));
      }
    }
  }

  // isolation, max_crashes, crash_window, uid, gid, keep_fds of one `plugins:` entry.
  void IsolationKeys(const YAML::Node& item, const std::string& path, PluginConfig* p) {
    if (item["isolation"]) {
      auto s = c_.GetString(item["isolation"], KeyPath(path, "isolation"));
      if (s && *s == "process") {
        p->isolation = Isolation::kProcess;
      } else if (s && *s == "inline") {
        p->isolation = Isolation::kInline;
      } else if (s) {
        c_.Error(item["isolation"], KeyPath(path, "isolation"),
                 "expected \"process\" or \"inline\", got \"" + *s + "\"");
      }
    }
    if (item["max_crashes"]) {
      auto n = c_.GetInt(item["max_crashes"], KeyPath(path, "max_crashes"), 0, 1000000);
      if (n) p->max_crashes = static_cast<uint32_t>(*n);
    }
    if (item["crash_window"]) {
      auto d = c_.GetDuration(item["crash_window"], KeyPath(path, "crash_window"));
      if (d && d->count() == 0) {
        c_.Error(item["crash_window"], KeyPath(path, "crash_window"), "must be greater than 0");
      } else if (d) {
        p->crash_window = *d;
      }
    }
    if (item["uid"]) {
      auto n = c_.GetInt(item["uid"], KeyPath(path, "uid"), 0, 0xfffffffe);
      if (n) p->uid = static_cast<uint32_t>(*n);
    }
    if (item["gid"]) {
      auto n = c_.GetInt(item["gid"], KeyPath(path, "gid"), 0, 0xfffffffe);
      if (n) p->gid = static_cast<uint32_t>(*n);
    }
    if (item["keep_fds"]) {
      const YAML::Node& fds = item["keep_fds"];
      std::string fpath = KeyPath(path, "keep_fds");
      if (c_.ExpectSequence(fds, fpath, false)) {
        for (size_t i = 0; i < fds.size(); ++i) {
          std::string ipath = IndexPath(fpath, i);
          auto n = c_.GetInt(fds[i], ipath, 0, 65535);
          if (n && *n < 4) {
            c_.Error(fds[i], ipath,
                     "descriptor " + std::to_string(*n) +
                         " cannot be kept: 0-2 are /dev/null and 3 is the host's socket");
          } else if (n) {
            p->keep_fds.push_back(static_cast<int>(*n));
          }
        }
      }
    }
    bool process_only = item["max_crashes"] || item["crash_window"] || item["uid"] || item["gid"] ||
                        item["keep_fds"];
    if (process_only && p->isolation == Isolation::kInline) {
      c_.Error(item, path,
               "max_crashes, crash_window, uid, gid and keep_fds apply to isolation: process "
               "only (this plugin runs inline)");
    }
  }

  void PluginValues(const YAML::Node& node, const std::string& path, PluginConfig* p) {
    if (!c_.ExpectMap(node, path)) return;
    if (node.IsNull()) return;
    c_.ForEachEntry(node, path, "a plain key", [&](const YamlChecker::MapEntry& e) {
      auto v = c_.GetOpaqueScalar(e.value, e.path);
      if (v) p->config.emplace_back(e.name, *v);
    });
  }

  void Secrets(const YAML::Node& node, const std::vector<std::string>& providers, Config* cfg) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "secrets") || node.IsNull()) return;
    c_.ForEachEntry(node, "secrets", "a secret id", [&](const YamlChecker::MapEntry& e) {
      SecretBinding b;
      b.id = e.name;
      const std::string& path = e.path;
      const YAML::Node v = e.value;
      b.where = c_.MarkOf(e.key);
      if (!c_.ExpectMap(v, path, false)) return;
      c_.CheckKeys(v, path, {"provider", "ref"});
      c_.RequireKeys(v, path, {"provider", "ref"});
      bool good = true;
      if (v["provider"]) {
        auto p = c_.GetString(v["provider"], KeyPath(path, "provider"));
        if (p && std::find(providers.begin(), providers.end(), *p) == providers.end()) {
          std::string hint = ClosestMatch(*p, providers);
          std::string list;
          for (const auto& name : providers) list += (list.empty() ? "" : ", ") + name;
          c_.Error(
              v["provider"], KeyPath(path, "provider"),
              "unknown provider \"" + *p + "\"" +
                  (hint.empty() ? " (configured: " + list + ")" : " (did you mean " + hint + "?)"));
          good = false;
        } else if (p) {
          b.provider = *p;
        } else {
          good = false;
        }
      }
      if (v["ref"]) {
        auto r = c_.GetString(v["ref"], KeyPath(path, "ref"));
        if (r) b.ref = *r;
        good = good && r.has_value();
      }
      if (good && !b.provider.empty() && !b.ref.empty()) cfg->secrets.push_back(std::move(b));
    });
    std::sort(cfg->secrets.begin(), cfg->secrets.end(),
              [](const SecretBinding& a, const SecretBinding& b) { return a.id < b.id; });
  }

  void Audit(const YAML::Node& node, AuditConfig* a) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "audit") || node.IsNull()) return;
    c_.CheckKeys(node, "audit",
                 {"path", "fsync", "timeout", "rotation", "checkpoint_interval", "hmac_key_file",
                  "signing_key_file"});
    if (node["path"]) {
      if (auto s = Path(node["path"], "audit.path")) a->path = *s;
    }
    if (node["fsync"]) {
      auto s = c_.GetString(node["fsync"], "audit.fsync");
      if (s) {
        if (*s == "per_record") {
          a->fsync = AuditFsync::kPerRecord;
        } else if (*s == "group") {
          a->fsync = AuditFsync::kGroup;
        } else if (*s == "none") {
          a->fsync = AuditFsync::kNone;
        } else {
          c_.Error(node["fsync"], "audit.fsync",
                   "expected per_record, group or none, got \"" + *s + "\"");
        }
      }
    }
    if (node["timeout"]) {
      auto d = c_.GetDuration(node["timeout"], "audit.timeout");
      if (d && d->count() == 0) {
        c_.Error(node["timeout"], "audit.timeout", "must be greater than 0");
      } else if (d) {
        a->timeout = *d;
      }
    }
    if (node["rotation"]) {
      const YAML::Node r = node["rotation"];
      if (c_.ExpectMap(r, "audit.rotation") && !r.IsNull()) {
        c_.CheckKeys(r, "audit.rotation", {"max_bytes", "max_files"});
        if (r["max_bytes"]) {
          auto n = c_.GetByteSize(r["max_bytes"], "audit.rotation.max_bytes");
          if (n && *n < 4096) {
            c_.Error(r["max_bytes"], "audit.rotation.max_bytes", "must be at least 4096 bytes");
          } else if (n) {
            a->rotation_max_bytes = *n;
          }
        }
        if (r["max_files"]) {
          auto n = c_.GetInt(r["max_files"], "audit.rotation.max_files", 1, 100000);
          if (n) a->rotation_max_files = static_cast<uint32_t>(*n);
        }
      }
    }
    if (node["checkpoint_interval"]) {
      auto n = c_.GetInt(node["checkpoint_interval"], "audit.checkpoint_interval", 1, 100000000);
      if (n) a->checkpoint_interval = static_cast<uint64_t>(*n);
    }
    if (node["hmac_key_file"]) {
      if (auto s = Path(node["hmac_key_file"], "audit.hmac_key_file")) a->hmac_key_file = *s;
    }
    if (node["signing_key_file"]) {
      if (auto s = Path(node["signing_key_file"], "audit.signing_key_file")) {
        a->signing_key_file = *s;
      }
    }
  }

  void OneOf(const YAML::Node& n, const std::string& path, const std::vector<std::string>& allowed,
             std::string* out) {
    auto s = c_.GetString(n, path);
    if (!s) return;
    if (std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
      std::string list;
      for (size_t i = 0; i < allowed.size(); ++i) {
        if (i > 0) list += (i + 1 == allowed.size()) ? " or " : ", ";
        list += allowed[i];
      }
      c_.Error(n, path, "expected " + list + ", got \"" + *s + "\"");
      return;
    }
    *out = *s;
  }

  // host: "embedded" or "unix:///absolute/path" (the forms --host takes).
  void Host(const YAML::Node& node, Config* cfg) {
    auto s = c_.GetString(node, "host");
    if (!s) return;
    constexpr std::string_view kScheme = "unix:///";
    if (*s != "embedded" &&
        (s->compare(0, kScheme.size(), kScheme) != 0 || s->size() == kScheme.size())) {
      c_.Error(node, "host",
               "\"" + *s + "\": want unix:///absolute/path (latchkeyd's socket) or embedded");
      return;
    }
    cfg->host = *s;
    cfg->host_where = c_.MarkOf(node);
  }

  void Log(const YAML::Node& node, LogConfig* l) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "log") || node.IsNull()) return;
    c_.CheckKeys(node, "log", {"format", "level"});
    if (node["format"]) OneOf(node["format"], "log.format", {"text", "json"}, &l->format);
    if (node["level"]) {
      OneOf(node["level"], "log.level", {"debug", "info", "warn", "error"}, &l->level);
    }
  }

  void Builder(const YAML::Node& node, BuilderConfig* b) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "builder", false)) return;
    c_.CheckKeys(node, "builder", {"runtime", "state_dir", "gc", "use"});
    if (!node["use"]) c_.RequireKeys(node, "builder", {"runtime"});
    b->present = true;
    if (node["use"]) {
      const YAML::Node& v = node["use"];
      if (auto s = c_.GetString(v, "builder.use")) {
        if (auto parsed = ParseBuilderValue(*s); !parsed.ok()) {
          c_.Error(v, "builder.use", "\"" + *s + "\": " + parsed.status().message());
        } else {
          b->use = *s;
          b->use_where = c_.MarkOf(v);
        }
      }
    }
    if (node["runtime"]) {
      auto s = c_.GetString(node["runtime"], "builder.runtime");
      if (s) b->runtime = s->find('/') == std::string::npos ? *s : JoinPath(base_dir_, *s);
    }
    if (node["state_dir"]) {
      if (auto s = Path(node["state_dir"], "builder.state_dir")) b->state_dir = *s;
    }
    if (node["gc"]) Gc(node["gc"], b);
  }

  // builder.gc: {keep_storage: 20GB, keep_duration: 168h}; at least one key.
  void Gc(const YAML::Node& node, BuilderConfig* b) {
    if (!c_.ExpectMap(node, "builder.gc", false)) return;
    c_.CheckKeys(node, "builder.gc", {"keep_storage", "keep_duration"});
    if (!node["keep_storage"] && !node["keep_duration"]) {
      c_.Error(node, "builder.gc", "give keep_storage, keep_duration or both");
      return;
    }
    b->gc_present = true;
    if (node["keep_storage"]) {
      const YAML::Node& v = node["keep_storage"];
      Result<int64_t> n = v.IsScalar() ? base::ParseRamBytes(v.Scalar())
                                       : Result<int64_t>(InvalidArgumentError(""));
      if (n.ok()) {
        b->gc_keep_storage = *n;
      } else {
        c_.Error(v, "builder.gc.keep_storage",
                 "expected a size such as 20GB or 512MB, got " + YamlChecker::Describe(v));
      }
    }
    if (node["keep_duration"]) {
      b->gc_keep_duration = c_.GetDuration(node["keep_duration"], "builder.gc.keep_duration");
    }
  }

  void Store(const YAML::Node& node, StoreConfig* s) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "store", false)) return;
    c_.CheckKeys(node, "store", {"path", "unlock_key_file"});
    c_.RequireKeys(node, "store", {"path", "unlock_key_file"});
    s->present = true;
    if (node["path"]) {
      if (auto p = Path(node["path"], "store.path")) s->path = *p;
    }
    if (node["unlock_key_file"]) {
      if (auto p = Path(node["unlock_key_file"], "store.unlock_key_file")) {
        s->unlock_key_file = *p;
      }
    }
  }

  // daemon: {allowed_uids: [1000], allowed_groups: [latchkey]}
  void Daemon(const YAML::Node& node, DaemonConfig* d) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "daemon") || node.IsNull()) return;
    c_.CheckKeys(node, "daemon", {"allowed_uids", "allowed_groups"});
    if (const YAML::Node& u = node["allowed_uids"];
        u && c_.ExpectSequence(u, "daemon.allowed_uids")) {
      for (size_t i = 0; i < u.size(); ++i) {
        std::string p = "daemon.allowed_uids[" + std::to_string(i) + "]";
        if (auto v = c_.GetInt(u[i], p, 0, 4294967294LL)) {
          d->allowed_uids.push_back(static_cast<uint32_t>(*v));
        }
      }
    }
    if (const YAML::Node& g = node["allowed_groups"];
        g && c_.ExpectSequence(g, "daemon.allowed_groups")) {
      for (size_t i = 0; i < g.size(); ++i) {
        std::string p = "daemon.allowed_groups[" + std::to_string(i) + "]";
        if (auto v = c_.GetString(g[i], p)) d->allowed_groups.push_back(*v);
      }
    }
  }

  // registries: {"host[:port]": {provider: NAME, ref: REF, ca_file: PATH, client_cert: PATH,
  //                              client_key: PATH, insecure: BOOL}}
  void Registries(const YAML::Node& node, const std::vector<std::string>& providers, Config* cfg) {
    if (!node.IsDefined() || !c_.ExpectMap(node, "registries") || node.IsNull()) return;
    c_.ForEachEntry(node, "registries", "a registry host", [&](const YamlChecker::MapEntry& e) {
      RegistryHostConfig r;
      r.host = e.name;
      const std::string& path = e.path;
      bool host_ok = r.host.find("://") == std::string::npos &&
                     r.host.find('/') == std::string::npos &&
                     std::all_of(r.host.begin(), r.host.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                              c == ':' || c == '[' || c == ']' || c == '_';
                     });
      if (!host_ok) {
        c_.Error(e.key, path,
                 "expected a registry host such as registry.example.com:5000 (no scheme, no "
                 "path)");
        return;
      }
      for (char& c : r.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.where = c_.MarkOf(e.key);
      const YAML::Node v = e.value;
      if (!c_.ExpectMap(v, path)) return;
      if (v.IsNull()) {
        cfg->registries.push_back(std::move(r));
        return;
      }
      c_.CheckKeys(v, path,
                   {"provider", "ref", "ca_file", "client_cert", "client_key", "insecure"});
      if (v["provider"] || v["ref"]) c_.RequireKeys(v, path, {"provider", "ref"});
      if (v["provider"]) {
        auto p = c_.GetString(v["provider"], KeyPath(path, "provider"));
        if (p && std::find(providers.begin(), providers.end(), *p) == providers.end()) {
          std::string hint = ClosestMatch(*p, providers);
          std::string list;
          for (const auto& name : providers) list += (list.empty() ? "" : ", ") + name;
          c_.Error(
              v["provider"], KeyPath(path, "provider"),
              "unknown provider \"" + *p + "\"" +
                  (hint.empty() ? " (configured: " + list + ")" : " (did you mean " + hint + "?)"));
        } else if (p) {
          r.provider = *p;
        }
      }
      if (v["ref"]) {
        if (auto ref = c_.GetString(v["ref"], KeyPath(path, "ref"))) r.ref = *ref;
      }
      if (v["ca_file"]) {
        if (auto p = Path(v["ca_file"], KeyPath(path, "ca_file"))) r.ca_file = *p;
      }
      if (v["client_cert"] || v["client_key"]) {
        c_.RequireKeys(v, path, {"client_cert", "client_key"});
      }
      if (v["client_cert"]) {
        if (auto p = Path(v["client_cert"], KeyPath(path, "client_cert"))) r.client_cert = *p;
      }
      if (v["client_key"]) {
        if (auto p = Path(v["client_key"], KeyPath(path, "client_key"))) r.client_key = *p;
      }
      if (v["insecure"]) {
        if (auto b = c_.GetBool(v["insecure"], KeyPath(path, "insecure"))) r.insecure = *b;
      }
      cfg->registries.push_back(std::move(r));
    });
    std::sort(
        cfg->registries.begin(), cfg->registries.end(),
        [](const RegistryHostConfig& a, const RegistryHostConfig& b) { return a.host < b.host; });
  }

  YamlChecker c_;
  const ConfigContext& ctx_;
  std::string base_dir_;
};

}  // namespace

const char* AuditFsyncName(AuditFsync f) {
  switch (f) {
    case AuditFsync::kPerRecord:
      return "per_record";
    case AuditFsync::kGroup:
      return "group";
    case AuditFsync::kNone:
      return "none";
  }
  return "per_record";
}

const PluginConfig* Config::FindPlugin(std::string_view name) const {
  for (const auto& p : plugins) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const RegistryHostConfig* Config::FindRegistry(std::string_view host) const {
  for (const auto& r : registries) {
    if (r.host == host) return &r;
  }
  return nullptr;
}

const SecretBinding* Config::FindSecret(std::string_view id) const {
  for (const auto& s : secrets) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

ConfigContext ConfigContextFromProcess() {
  ConfigContext ctx;
  ctx.env = SnapshotEnv(environ, {"HOME", "XDG_STATE_HOME", kConfigEnvVar});
  ctx.euid = ::geteuid();
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    buf[n] = '\0';
    ctx.exe_dir = base::DirName(buf);
  }
  ctx.cwd = Cwd(ctx);
  return ctx;
}

std::string FindConfigFile(std::string_view flag, const ConfigContext& ctx) {
  if (!flag.empty()) return std::string(flag);
  auto env = LookupEnv(ctx.env, kConfigEnvVar);
  if (env && !env->empty()) return *env;
  bool exists = false;
  if (ctx.file_exists) {
    exists = ctx.file_exists(kDefaultConfigPath);
  } else {
    struct stat st;
    exists = ::stat(kDefaultConfigPath, &st) == 0;
  }
  return exists ? kDefaultConfigPath : "";
}

Result<Config> DefaultConfig(const ConfigContext& ctx) { return ParseConfig("", "", ctx); }

Result<Config> ParseConfig(std::string_view yaml, const std::string& source,
                           const ConfigContext& ctx) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    std::string where = source;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return InvalidArgumentError(where + ": invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source + ": invalid YAML: " + e.msg);
  }
  std::string base_dir = source.empty() ? "/" : base::DirName(JoinPath(Cwd(ctx), source));
  Parser parser(source, ctx, base_dir);
  try {
    return parser.Run(root, source);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source + ": invalid YAML: " + e.msg);
  }
}

Result<Config> LoadConfig(const std::string& path, const ConfigContext& ctx) {
  auto fail = [&](int err) -> Status {
    std::string msg = "cannot read configuration file " + path + ": " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(msg);
    return FailedPreconditionError(msg);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseConfig(text, path, ctx);
}

Result<Config> ResolveConfig(std::string_view flag, const ConfigContext& ctx) {
  std::string path = FindConfigFile(flag, ctx);
  if (path.empty()) return DefaultConfig(ctx);
  return LoadConfig(path, ctx);
}

}  // namespace latchkey
