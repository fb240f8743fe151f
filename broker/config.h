// Config: the broker's one YAML configuration file, loaded strictly, with defaults that work
// without any file. Every key is described in docs/configuration.md and shown, commented, in
// config/latchkey.example.yaml.
//
// Which file (FindConfigFile): --config PATH, else $LATCHKEY_CONFIG, else
// /etc/latchkey/latchkey.yaml when it exists, else none (built-in defaults).
//
// Strictness: unknown keys (with a did-you-mean hint), wrong types, bad values and missing
// required keys are all reported at once, one per line, each as
//   <file>:<line>:<col>: <key path>: <problem>
// e.g. "/etc/latchkey/latchkey.yaml:12:5: policy.rules[2].allow: expected a boolean, got
// \"maybe\"". YAML syntax errors: "<file>:<line>:<col>: invalid YAML: <yaml-cpp message>".
//
// Paths: relative paths in the file are resolved against the file's directory; all paths in a
// loaded Config are absolute and lexically normalised.
//
// Thread-safety: LoadConfig/ParseConfig are pure functions of their inputs (plus reading the
// one file); a Config is a plain value.
#ifndef LATCHKEY_BROKER_CONFIG_H_
#define LATCHKEY_BROKER_CONFIG_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/config_env.h"
#include "broker/config_mark.h"
#include "broker/policy.h"
#include "broker/provider.h"
#include "latchkey/status.h"

namespace latchkey {

inline constexpr const char* kDefaultConfigPath = "/etc/latchkey/latchkey.yaml";
inline constexpr const char* kConfigEnvVar = "LATCHKEY_CONFIG";

// One provider plugin (`plugins:` entry, or a bundled one).
struct PluginConfig {
  std::string name;    // unique; what `secrets.*.provider`, rules and --secret type= name
  std::string path;    // absolute path of the .so
  std::string sha256;  // 64 lowercase hex digits, or "" for no pin
  // `config:` key/values in file order, as text; validated later against the plugin's
  // descriptor table (the config layer does not load plugins). Values may be secrets.
  std::vector<std::pair<std::string, std::string>> config;
  bool bundled = false;  // the implicit `file`, `env` or `store` plugin (possibly overridden)
  SourceMark where;      // the entry in the file; empty for an implicit bundled plugin
  // `isolation`: how the plugin code runs. Default: inline for the bundled file, env and store
  // providers, process (latchkey-provider-host) for every other plugin.
  Isolation isolation = Isolation::kProcess;
  // Process isolation only: back-off after more than `max_crashes` crashes within
  // `crash_window` (docs/providers.md), the host's uid/gid (unset: the broker's), and the
  // broker descriptors (>= 4) the plugin's config names and the host keeps open.
  uint32_t max_crashes = 3;
  std::chrono::milliseconds crash_window{60000};
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::vector<int> keep_fds;
};

// A configured secret: `secrets: {<id>: {provider: store, ref: ci/registry-token}}`.
struct SecretBinding {
  std::string id;
  std::string provider;
  std::string ref;
  SourceMark where;
};

enum class AuditFsync { kPerRecord, kGroup, kNone };
const char* AuditFsyncName(AuditFsync f);  // "per_record", "group", "none"

struct AuditConfig {
  std::string path;  // default <state_dir>/audit/audit.log
  AuditFsync fsync = AuditFsync::kPerRecord;
  // How long a request may wait for its record to become durable before it fails closed.
  std::chrono::milliseconds timeout{5000};
  uint64_t rotation_max_bytes = 64ULL << 20;  // rotate when the file would exceed this
  uint32_t rotation_max_files = 10;           // rotated files kept
  uint64_t checkpoint_interval = 1000;        // records between signed checkpoints
  std::string hmac_key_file;                  // default <state_dir>/audit-hmac.key
  std::string signing_key_file;               // default <state_dir>/audit-signing.key
};

struct LogConfig {
  std::string format = "text";  // text | json
  std::string level = "info";   // debug | info | warn | error
};

// The builder's section (latchkey build, image, du, prune).
struct BuilderConfig {
  bool present = false;
  // "runc", "crun" or a path; required when the section is present, unless it has `use`.
  std::string runtime;
  // builder.use: which builder `latchkey build` uses when neither --builder nor
  // $LATCHKEY_BUILDER says (cli/builder_choice.h): "" (unset: embedded), or a value that
  // ParseBuilderValue accepts, as written ("docker", "docker://unix:///run/docker.sock").
  std::string use;
  SourceMark use_where;   // where `use` is in the file
  std::string state_dir;  // optional; "" = <state_dir>/builder
  // builder.gc: the GC run after every build (BuildKit's gc policy). Unset: no automatic GC.
  bool gc_present = false;
  std::optional<int64_t> gc_keep_storage;                     // bytes
  std::optional<std::chrono::milliseconds> gc_keep_duration;  // last use older than this goes
};

// Where the encrypted store is: used by `latchkey store`/`latchkey secret` and as the default
// `path` and `unlock_key_file` of the `store` plugin. Without the section both are filled in
// from the state directory.
struct StoreConfig {
  bool present = false;         // the file has a `store:` section
  std::string path;             // required when present; default <state_dir>/store/secrets.db
  std::string unlock_key_file;  // required when present; default <state_dir>/store/unlock.key
};

// latchkeyd's `daemon:` section: who may use the daemon (docs/daemon.md). Both lists empty
// (the default): whoever can open the socket. Otherwise a local caller must have one of the
// uids, or be in one of the groups (its SO_PEERCRED gid or its user's groups); latchkeyd's own
// uid is always allowed.
struct DaemonConfig {
  std::vector<uint32_t> allowed_uids;
  std::vector<std::string> allowed_groups;  // group names
};

// How latchkey talks to one registry host (`registries: {"reg.example:5000": {...}}`).
struct RegistryHostConfig {
  std::string host;  // "registry.example.com:5000" (as in image references, no scheme)
  // Which provider supplies the credential (the broker's secret `registry:<host>`) and its
  // reference; both "" when the entry names none (then the dockerconfig provider serves it).
  std::string provider;
  std::string ref;
  std::string ca_file;      // extra trusted CAs (PEM) on top of the system store; "" = none
  std::string client_cert;  // TLS client certificate (PEM); "" = none; set with client_key
  std::string client_key;   // its private key (PEM)
  bool insecure = false;    // plain HTTP allowed (loopback hosts may be HTTP without it)
  SourceMark where;
};

// Docker's per-registry TLS layout under latchkey's configuration directory:
// <dir>/<host:port>/{ca.crt,client.cert,client.key}. The directory is `certs.d` beside the
// configuration file, or /etc/latchkey/certs.d when latchkey runs on its built-in defaults.
inline constexpr const char* kDefaultCertsDir = "/etc/latchkey/certs.d";

struct Config {
  std::string source;  // the file it was loaded from; "" for built-in defaults
  std::string state_dir;
  // Where the bundled provider plugins are: <exe_dir>/../lib/latchkey/providers.
  std::string provider_dir;
  // The process-isolation host: <exe_dir>/latchkey-provider-host.
  std::string provider_host;
  std::vector<PluginConfig> plugins;  // bundled first (file, env, store), then the file's
  // How long one provider fetch may take before it fails (and, in inline mode, is abandoned).
  std::chrono::milliseconds fetch_timeout{30000};
  std::vector<SecretBinding> secrets;  // sorted by id
  Policy policy;
  AuditConfig audit;
  LogConfig log;
  BuilderConfig builder;
  StoreConfig store;
  std::vector<RegistryHostConfig> registries;  // sorted by host
  std::string certs_dir;                       // see kDefaultCertsDir
  DaemonConfig daemon;
  // `host:`: the latchkeyd that `latchkey build`, `images` and `image rm` use when neither
  // --host nor $LATCHKEY_HOST says (cli/daemon_client.h): "" (unset: embedded), "embedded", or
  // "unix:///absolute/path.sock", as written. latchkeyd itself ignores it.
  std::string host;
  SourceMark host_where;  // where `host` is in the file

  // The plugin named `name`, or nullptr.
  const PluginConfig* FindPlugin(std::string_view name) const;
  // The binding for secret `id`, or nullptr.
  const SecretBinding* FindSecret(std::string_view id) const;
  // The settings for registry `host` ("reg.example:5000"), or nullptr.
  const RegistryHostConfig* FindRegistry(std::string_view host) const;
};

// What the loader may consult instead of process globals.
struct ConfigContext {
  EnvMap env;  // needs HOME, XDG_STATE_HOME (state directory) and LATCHKEY_CONFIG
  uid_t euid = 0;
  // Directory of the latchkey executable; bundled plugins are found at
  // <exe_dir>/../lib/latchkey/providers/latchkey-<name>.so.
  std::string exe_dir;
  // Absolute working directory, to resolve a relative config file path; "" = getcwd().
  std::string cwd;
  // Existence test for FindConfigFile; empty = stat(2).
  std::function<bool(const std::string&)> file_exists;
};

// The context of this process: HOME, XDG_STATE_HOME and LATCHKEY_CONFIG from `environ`,
// geteuid(), the directory of /proc/self/exe, getcwd(). Not thread-safe against setenv.
ConfigContext ConfigContextFromProcess();

// The file to load: `flag` if non-empty, else $LATCHKEY_CONFIG if non-empty, else
// kDefaultConfigPath if it exists, else "" (use defaults). A flag or variable naming a
// missing file is not an error here; LoadConfig reports it.
std::string FindConfigFile(std::string_view flag, const ConfigContext& ctx);

// Built-in defaults: bundled plugins (the store plugin on the default store), no bindings, no
// rules, audit and store under the state directory.
Result<Config> DefaultConfig(const ConfigContext& ctx);

// Reads and validates `path`. Errors: "cannot read configuration file <path>: <strerror>"
// (NOT_FOUND when missing, else FAILED_PRECONDITION), the YAML and validation errors described
// above (INVALID_ARGUMENT).
Result<Config> LoadConfig(const std::string& path, const ConfigContext& ctx);

// Validates YAML text; `source` names it in messages and relative paths are resolved against
// its directory.
Result<Config> ParseConfig(std::string_view yaml, const std::string& source,
                           const ConfigContext& ctx);

// FindConfigFile then LoadConfig, or DefaultConfig when there is no file.
Result<Config> ResolveConfig(std::string_view flag, const ConfigContext& ctx);

// Whether plugin `plugin`'s config key `key` holds a secret (masked when shown).
using IsSecretConfigKey = std::function<bool(const std::string& plugin, const std::string& key)>;

// Name heuristic used until plugin descriptors are known: a key is secret when one of its
// words (split on '_', '-', '.') is password, passwd, passphrase, token, secret, key,
// apikey, credential(s) or auth — unless its last word is file, path, dir, env or var (then
// it names where a secret is, not the secret).
bool LooksLikeSecretKey(const std::string& plugin, const std::string& key);

// The effective configuration as YAML, every default filled in, secret plugin values shown
// as "****". Loading the output again gives the same Config (apart from masked values and
// source marks).
std::string EmitConfigYaml(const Config& config, const IsSecretConfigKey& is_secret);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_CONFIG_H_
