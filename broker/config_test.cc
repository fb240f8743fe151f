#include "broker/config.h"
#include "broker/config_yaml.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace latchkey {
namespace {

const char* kFile = "/etc/latchkey/latchkey.yaml";

ConfigContext Ctx(uid_t euid = 0) {
  ConfigContext ctx;
  ctx.env = {{"HOME", "/home/u"}};
  ctx.euid = euid;
  ctx.exe_dir = "/opt/lk/bin";
  ctx.cwd = "/work";
  ctx.file_exists = [](const std::string&) { return false; };
  return ctx;
}

std::string Err(const std::string& yaml, const std::string& file = kFile) {
  auto r = ParseConfig(yaml, file, Ctx());
  EXPECT_FALSE(r.ok()) << yaml;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::string SourceDir() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/..";
}

TEST(Config, DefaultsWithoutAFile) {
  auto c = DefaultConfig(Ctx(0));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source, "");
  EXPECT_EQ(c->state_dir, "/var/lib/latchkey");
  ASSERT_EQ(c->plugins.size(), 4u);
  EXPECT_EQ(c->plugins[0].name, "file");
  EXPECT_EQ(c->plugins[0].path, "/opt/lk/lib/latchkey/providers/latchkey-file.so");
  EXPECT_TRUE(c->plugins[0].bundled);
  EXPECT_EQ(c->plugins[1].name, "env");
  EXPECT_EQ(c->plugins[1].path, "/opt/lk/lib/latchkey/providers/latchkey-env.so");
  // The store plugin reads the store `latchkey store init` creates, with no configuration.
  EXPECT_EQ(c->plugins[2].name, "store");
  EXPECT_EQ(c->plugins[2].path, "/opt/lk/lib/latchkey/providers/latchkey-store.so");
  EXPECT_TRUE(c->plugins[2].bundled);
  using KV = std::pair<std::string, std::string>;
  EXPECT_EQ(c->plugins[2].config,
            (std::vector<KV>{{"path", "/var/lib/latchkey/store/secrets.db"},
                             {"unlock_key_file", "/var/lib/latchkey/store/unlock.key"}}));
  EXPECT_EQ(c->plugins[3].name, "dockerconfig");
  EXPECT_EQ(c->plugins[3].path, "/opt/lk/lib/latchkey/providers/latchkey-dockerconfig.so");
  EXPECT_TRUE(c->plugins[3].bundled);
  EXPECT_TRUE(c->secrets.empty());
  EXPECT_TRUE(c->policy.rules().empty());
  EXPECT_EQ(c->audit.path, "/var/lib/latchkey/audit/audit.log");
  EXPECT_EQ(c->audit.fsync, AuditFsync::kPerRecord);
  EXPECT_EQ(c->audit.timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c->fetch_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(c->audit.rotation_max_bytes, 64u << 20);
  EXPECT_EQ(c->audit.rotation_max_files, 10u);
  EXPECT_EQ(c->audit.checkpoint_interval, 1000u);
  EXPECT_EQ(c->audit.hmac_key_file, "/var/lib/latchkey/audit-hmac.key");
  EXPECT_EQ(c->audit.signing_key_file, "/var/lib/latchkey/audit-signing.key");
  EXPECT_EQ(c->log.format, "text");
  EXPECT_EQ(c->log.level, "info");
  EXPECT_FALSE(c->builder.present);
  EXPECT_FALSE(c->store.present);
  EXPECT_EQ(c->store.path, "/var/lib/latchkey/store/secrets.db");
  EXPECT_EQ(c->store.unlock_key_file, "/var/lib/latchkey/store/unlock.key");
}

TEST(Config, StorePluginFollowsTheStoreSection) {
  auto c = ParseConfig("store: {path: /s/db, unlock_key_file: /s/key}\n", kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  using KV = std::pair<std::string, std::string>;
  EXPECT_EQ(c->FindPlugin("store")->config,
            (std::vector<KV>{{"path", "/s/db"}, {"unlock_key_file", "/s/key"}}));
  // Keys the plugin entry sets win; a passphrase_fd replaces the default unlock key file.
  c = ParseConfig("plugins:\n  - name: store\n    config: {passphrase_fd: 3}\n", kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->FindPlugin("store")->bundled);
  EXPECT_EQ(
      c->FindPlugin("store")->config,
      (std::vector<KV>{{"passphrase_fd", "3"}, {"path", "/var/lib/latchkey/store/secrets.db"}}));
}

TEST(Config, DefaultsForAUser) {
  auto c = DefaultConfig(Ctx(1000));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state_dir, "/home/u/.local/state/latchkey");
  EXPECT_EQ(c->audit.path, "/home/u/.local/state/latchkey/audit/audit.log");
}

TEST(Config, EmptyFileMeansDefaults) {
  auto c = ParseConfig("# nothing here\n", kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source, kFile);
  EXPECT_EQ(c->plugins.size(), 4u);
}

TEST(Config, FindConfigFilePrecedence) {
  ConfigContext ctx = Ctx();
  EXPECT_EQ(FindConfigFile("", ctx), "");
  ctx.file_exists = [](const std::string& p) { return p == "/etc/latchkey/latchkey.yaml"; };
  EXPECT_EQ(FindConfigFile("", ctx), "/etc/latchkey/latchkey.yaml");
  ctx.env["LATCHKEY_CONFIG"] = "/env.yaml";
  EXPECT_EQ(FindConfigFile("", ctx), "/env.yaml");
  EXPECT_EQ(FindConfigFile("/flag.yaml", ctx), "/flag.yaml");
  ctx.env["LATCHKEY_CONFIG"] = "";
  EXPECT_EQ(FindConfigFile("", ctx), "/etc/latchkey/latchkey.yaml");
}

TEST(Config, ExampleFileLoads) {
  std::string path = SourceDir() + "/config/latchkey.example.yaml";
  auto c = LoadConfig(path, Ctx(1000));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state_dir, "/var/lib/latchkey");
  ASSERT_EQ(c->plugins.size(), 5u);
  EXPECT_EQ(c->plugins[4].name, "vault");
  EXPECT_EQ(c->plugins[4].isolation, Isolation::kProcess);
  EXPECT_EQ(c->plugins[4].keep_fds, std::vector<int>{5});
  EXPECT_EQ(c->plugins[2].name, "store");
  EXPECT_EQ(c->plugins[2].isolation, Isolation::kInline);
  EXPECT_EQ(c->plugins[2].sha256,
            "0c1f0a6b3e5d2c7f9a8b4d6e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c");
  EXPECT_EQ(c->plugins[2].config.size(), 2u);
  ASSERT_NE(c->FindSecret("registry-token"), nullptr);
  EXPECT_EQ(c->FindSecret("registry-token")->ref, "ci/registry-token");
  EXPECT_EQ(c->FindSecret("nope"), nullptr);
  ASSERT_EQ(c->policy.rules().size(), 7u);
  EXPECT_EQ(c->policy.rules()[5].kind, RequestKind::kRegistry);
  ASSERT_NE(c->FindRegistry("registry.example.com:5000"), nullptr);
  EXPECT_EQ(c->FindRegistry("registry.example.com:5000")->provider, "store");
  EXPECT_EQ(c->policy.rules()[3].name, "ci-runners-over-tls");
  ASSERT_EQ(c->policy.rules()[3].client_cns.size(), 1u);
  EXPECT_EQ(c->policy.rules()[3].client_cns[0].pattern(), "ci-runner-*");
  EXPECT_EQ(c->daemon.allowed_uids, (std::vector<uint32_t>{0}));
  EXPECT_EQ(c->daemon.allowed_groups, (std::vector<std::string>{"latchkey"}));
  EXPECT_EQ(c->audit.rotation_max_bytes, 64u << 20);
  EXPECT_TRUE(c->builder.present);
  EXPECT_EQ(c->builder.runtime, "runc");
  EXPECT_TRUE(c->store.present);
  EXPECT_EQ(c->store.unlock_key_file, "/etc/latchkey/store.key");
}

TEST(Config, PolicyExamplesLoad) {
  for (const char* name : {"ci-only.yaml", "lockdown.yaml"}) {
    auto c = LoadConfig(SourceDir() + "/config/policy-examples/" + name, Ctx());
    EXPECT_TRUE(c.ok()) << name << ": " << c.status().message();
  }
}

TEST(Config, MissingFile) {
  auto c = LoadConfig("/nonexistent/latchkey.yaml", Ctx());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.status().message(),
            "cannot read configuration file /nonexistent/latchkey.yaml: No such file or directory");
  auto d = LoadConfig("/", Ctx());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "cannot read configuration file /: Is a directory");
}

TEST(Config, ResolveConfigUsesDefaultsWhenNoFile) {
  auto c = ResolveConfig("", Ctx());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->source, "");
  auto d = ResolveConfig("/nonexistent.yaml", Ctx());
  EXPECT_EQ(d.status().code(), StatusCode::kNotFound);
}

TEST(Config, InvalidYaml) {
  EXPECT_EQ(Err("audit:\n  fsync: [unclosed\n"),
            "/etc/latchkey/latchkey.yaml:3:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(Err("a: b\n c: d\n"),
            "/etc/latchkey/latchkey.yaml:2:3: invalid YAML: illegal map value");
}

struct ErrCase {
  const char* yaml;
  const char* want;
};

TEST(Config, ExactErrors) {
  const ErrCase cases[] = {
      {"- a\n", "/etc/latchkey/latchkey.yaml:1:1: expected a mapping, got a sequence"},
      {"audit:\n  fsyncc: group\n",
       "/etc/latchkey/latchkey.yaml:2:3: audit.fsyncc: unknown key (did you mean fsync?)"},
      {"polcy: {}\n", "/etc/latchkey/latchkey.yaml:1:1: polcy: unknown key (did you mean policy?)"},
      {"zzz: 1\n", "/etc/latchkey/latchkey.yaml:1:1: zzz: unknown key"},
      {"log: {level: info, level: debug}\n",
       "/etc/latchkey/latchkey.yaml:1:20: log.level: duplicate key"},
      {"policy:\n  rules:\n    - name: a\n      allow: maybe\n      reason: r\n",
       "/etc/latchkey/latchkey.yaml:4:14: policy.rules[0].allow: expected a boolean, got "
       "\"maybe\""},
      {"policy:\n  rules:\n    - {name: a, allow: \"true\", reason: r}\n",
       "/etc/latchkey/latchkey.yaml:3:24: policy.rules[0].allow: expected a boolean, got "
       "\"true\""},
      {"policy:\n  rules:\n    - name: a\n      allow: true\n",
       "/etc/latchkey/latchkey.yaml:3:7: policy.rules[0]: missing required key \"reason\""},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, secrt: x}\n",
       "/etc/latchkey/latchkey.yaml:3:41: policy.rules[0].secrt: unknown key (did you mean "
       "secret?)"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r}\n    - {name: a, allow: "
       "false, reason: s}\n",
       "/etc/latchkey/latchkey.yaml:4:14: policy.rules[1].name: duplicate rule name \"a\" (first "
       "defined at /etc/latchkey/latchkey.yaml:3:7)"},
      {"policy:\n  rules:\n    - {name: declared-source, allow: false, reason: r}\n",
       "/etc/latchkey/latchkey.yaml:3:14: policy.rules[0].name: \"declared-source\" is the name "
       "of a built-in rule; choose another name"},
      {"policy:\n  rules:\n    - {name: \"a b\", allow: false, reason: r}\n",
       "/etc/latchkey/latchkey.yaml:3:14: policy.rules[0].name: invalid rule name \"a b\": use "
       "letters, digits, '-', '_' and '.', starting with a letter or digit"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, provider: stor}\n",
       "/etc/latchkey/latchkey.yaml:3:51: policy.rules[0].provider: unknown provider \"stor\" "
       "(did you mean store?)"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, provider: [file, evn]}\n",
       "/etc/latchkey/latchkey.yaml:3:58: policy.rules[0].provider[1]: unknown provider \"evn\" "
       "(did you mean env?)"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, source: disk}\n",
       "/etc/latchkey/latchkey.yaml:3:49: policy.rules[0].source: expected file, env or "
       "provider, got \"disk\""},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, secret: \"ab[c\"}\n",
       "/etc/latchkey/latchkey.yaml:3:49: policy.rules[0].secret: invalid glob \"ab[c\": "
       "unterminated '['"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, secret: []}\n",
       "/etc/latchkey/latchkey.yaml:3:49: policy.rules[0].secret: expected a value or a "
       "non-empty list, got an empty list"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, uid: -1}\n",
       "/etc/latchkey/latchkey.yaml:3:46: policy.rules[0].uid: expected an integer, got \"-1\""},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, uid: 4294967295}\n",
       "/etc/latchkey/latchkey.yaml:3:46: policy.rules[0].uid: expected an integer from 0 to "
       "4294967294, got 4294967295"},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, path_under: home}\n",
       "/etc/latchkey/latchkey.yaml:3:53: policy.rules[0].path_under: expected an absolute path, "
       "got \"home\""},
      {"policy:\n  rules:\n    - {name: a, allow: true, reason: r, labels: [a]}\n",
       "/etc/latchkey/latchkey.yaml:3:49: policy.rules[0].labels: expected a mapping of label "
       "names to globs, got a sequence"},
      {"policy:\n  rules: {}\n",
       "/etc/latchkey/latchkey.yaml:2:10: policy.rules: expected a list, got a mapping"},
      {"policy:\n  rules:\n    - just-a-string\n",
       "/etc/latchkey/latchkey.yaml:3:7: policy.rules[0]: expected a mapping, got "
       "\"just-a-string\""},
      {"plugins: {name: x}\n",
       "/etc/latchkey/latchkey.yaml:1:10: plugins: expected a list, got a mapping"},
      {"plugins:\n  - path: /x.so\n",
       "/etc/latchkey/latchkey.yaml:2:5: plugins[0]: missing required key \"name\""},
      {"plugins:\n  - name: vault\n",
       "/etc/latchkey/latchkey.yaml:2:5: plugins[0]: missing required key \"path\" (only the "
       "bundled file, env and store plugins have a default path)"},
      {"plugins:\n  - {name: Vault, path: /x.so}\n",
       "/etc/latchkey/latchkey.yaml:2:12: plugins[0].name: invalid plugin name \"Vault\": use "
       "lowercase letters, digits, '-' and '_', starting with a letter"},
      {"plugins:\n  - {name: v, path: /x.so}\n  - {name: v, path: /y.so}\n",
       "/etc/latchkey/latchkey.yaml:3:12: plugins[1].name: duplicate plugin name \"v\" (first "
       "defined at /etc/latchkey/latchkey.yaml:2:5)"},
      {"plugins:\n  - {name: v, path: /x.so, sha256: abc}\n",
       "/etc/latchkey/latchkey.yaml:2:36: plugins[0].sha256: expected 64 hexadecimal digits (the "
       "output of sha256sum), got \"abc\""},
      {"plugins:\n  - {name: v, path: /x.so, config: {token: [a]}}\n",
       "/etc/latchkey/latchkey.yaml:2:44: plugins[0].config.token: expected a scalar value, got "
       "a sequence"},
      {"plugins:\n  - {name: v, path: /x.so, confg: {}}\n",
       "/etc/latchkey/latchkey.yaml:2:28: plugins[0].confg: unknown key (did you mean config?)"},
      {"secrets:\n  npmrc: {provider: hashicorp, ref: x}\n",
       "/etc/latchkey/latchkey.yaml:2:21: secrets.npmrc.provider: unknown provider "
       "\"hashicorp\" (configured: file, env, store, dockerconfig)"},
      {"secrets:\n  npmrc: {provider: stroe, ref: x}\n",
       "/etc/latchkey/latchkey.yaml:2:21: secrets.npmrc.provider: unknown provider \"stroe\" "
       "(did you mean store?)"},
      {"secrets:\n  npmrc: {provider: file}\n",
       "/etc/latchkey/latchkey.yaml:2:10: secrets.npmrc: missing required key \"ref\""},
      {"secrets:\n  npmrc: /x\n",
       "/etc/latchkey/latchkey.yaml:2:10: secrets.npmrc: expected a mapping, got \"/x\""},
      {"audit:\n  fsync: always\n",
       "/etc/latchkey/latchkey.yaml:2:10: audit.fsync: expected per_record, group or none, got "
       "\"always\""},
      {"audit:\n  timeout: 5\n",
       "/etc/latchkey/latchkey.yaml:2:12: audit.timeout: expected a duration such as 5s or "
       "500ms, got \"5\""},
      {"audit:\n  timeout: 0s\n",
       "/etc/latchkey/latchkey.yaml:2:12: audit.timeout: must be greater than 0"},
      {"fetch_timeout: 0s\n",
       "/etc/latchkey/latchkey.yaml:1:16: fetch_timeout: must be greater than 0"},
      {"fetch_timeout: soon\n",
       "/etc/latchkey/latchkey.yaml:1:16: fetch_timeout: expected a duration such as 5s or "
       "500ms, got \"soon\""},
      {"audit:\n  rotation: {max_bytes: 10MB}\n",
       "/etc/latchkey/latchkey.yaml:2:25: audit.rotation.max_bytes: expected a size such as "
       "67108864 or 64MiB, got \"10MB\""},
      {"audit:\n  rotation: {max_bytes: 100}\n",
       "/etc/latchkey/latchkey.yaml:2:25: audit.rotation.max_bytes: must be at least 4096 bytes"},
      {"audit:\n  rotation: {max_files: 0}\n",
       "/etc/latchkey/latchkey.yaml:2:25: audit.rotation.max_files: expected an integer from 1 to "
       "100000, got 0"},
      {"audit:\n  checkpoint_interval: often\n",
       "/etc/latchkey/latchkey.yaml:2:24: audit.checkpoint_interval: expected an integer, got "
       "\"often\""},
      {"log:\n  format: xml\n",
       "/etc/latchkey/latchkey.yaml:2:11: log.format: expected text or json, got \"xml\""},
      {"log:\n  level: trace\n",
       "/etc/latchkey/latchkey.yaml:2:10: log.level: expected debug, info, warn or error, got "
       "\"trace\""},
      {"state_dir: {a: b}\n",
       "/etc/latchkey/latchkey.yaml:1:12: state_dir: expected a string, got a mapping"},
      {"state_dir:\n", "/etc/latchkey/latchkey.yaml:2:1: state_dir: expected a string, got null"},
      {"builder: {state_dir: /x}\n",
       "/etc/latchkey/latchkey.yaml:1:10: builder: missing required key \"runtime\""},
      {"builder:\n", "/etc/latchkey/latchkey.yaml:2:1: builder: expected a mapping, got null"},
      {"builder: {runtime: runc, gc: {keep_storage: 10XB}}\n",
       "/etc/latchkey/latchkey.yaml:1:45: builder.gc.keep_storage: expected a size such as 20GB "
       "or 512MB, got \"10XB\""},
      {"builder: {runtime: runc, gc: {keep_duration: 7d}}\n",
       "/etc/latchkey/latchkey.yaml:1:46: builder.gc.keep_duration: expected a duration such as "
       "5s or 500ms, got \"7d\""},
      {"builder: {runtime: runc, gc: {}}\n",
       "/etc/latchkey/latchkey.yaml:1:30: builder.gc: give keep_storage, keep_duration or both"},
      {"host: tcp://127.0.0.1:7443\n",
       "/etc/latchkey/latchkey.yaml:1:7: host: \"tcp://127.0.0.1:7443\": want "
       "unix:///absolute/path (latchkeyd's socket) or embedded"},
      {"host: unix://run/latchkeyd.sock\n",
       "/etc/latchkey/latchkey.yaml:1:7: host: \"unix://run/latchkeyd.sock\": want "
       "unix:///absolute/path (latchkeyd's socket) or embedded"},
      {"host: [unix:///x.sock]\n",
       "/etc/latchkey/latchkey.yaml:1:7: host: expected a string, got a sequence"},
      {"hots: unix:///x.sock\n",
       "/etc/latchkey/latchkey.yaml:1:1: hots: unknown key (did you mean host?)"},
      {"builder: {use: dokcer}\n",
       "/etc/latchkey/latchkey.yaml:1:16: builder.use: \"dokcer\": unknown builder (want "
       "embedded, docker or docker://unix:///path/docker.sock)"},
      {"builder: {use: \"docker://https://build.example:2376\"}\n",
       "/etc/latchkey/latchkey.yaml:1:16: builder.use: \"docker://https://build.example:2376\": "
       "TLS connections to Docker Engine are not supported (use unix:///path/docker.sock, or "
       "tcp://HOST:PORT without TLS)"},
      {"builder: {use: \"docker://unix://run/docker.sock\"}\n",
       "/etc/latchkey/latchkey.yaml:1:16: builder.use: \"docker://unix://run/docker.sock\": the "
       "socket path must be absolute (unix:///path/docker.sock: three slashes)"},
      {"builder: {use: [docker]}\n",
       "/etc/latchkey/latchkey.yaml:1:16: builder.use: expected a string, got a sequence"},
      {"builder: {usee: docker}\n",
       "/etc/latchkey/latchkey.yaml:1:10: builder: missing required key \"runtime\"\n"
       "/etc/latchkey/latchkey.yaml:1:11: builder.usee: unknown key (did you mean use?)"},
      {"store: {path: /s, unlock_key: /k}\n",
       "/etc/latchkey/latchkey.yaml:1:8: store: missing required key \"unlock_key_file\"\n"
       "/etc/latchkey/latchkey.yaml:1:19: store.unlock_key: unknown key (did you mean "
       "unlock_key_file?)"},
  };
  for (const auto& c : cases) EXPECT_EQ(Err(c.yaml), c.want) << c.yaml;
}

TEST(Config, ReportsProblemsInFileOrder) {
  // policy is checked before audit, but the report follows the file.
  EXPECT_EQ(Err("audit: {fsyncc: group}\npolicy:\n  rules:\n    - {name: a, allow: maybe, "
                "reason: r}\n"),
            "/etc/latchkey/latchkey.yaml:1:9: audit.fsyncc: unknown key (did you mean fsync?)\n"
            "/etc/latchkey/latchkey.yaml:4:24: policy.rules[0].allow: expected a boolean, got "
            "\"maybe\"");
}

TEST(Config, ReportsEveryProblemAtOnce) {
  EXPECT_EQ(Err("audit:\n  fsyncc: group\n  timeout: soon\nlog:\n  level: loud\n"),
            "/etc/latchkey/latchkey.yaml:2:3: audit.fsyncc: unknown key (did you mean fsync?)\n"
            "/etc/latchkey/latchkey.yaml:3:12: audit.timeout: expected a duration such as 5s or "
            "500ms, got \"soon\"\n"
            "/etc/latchkey/latchkey.yaml:5:10: log.level: expected debug, info, warn or error, "
            "got \"loud\"");
}

TEST(Config, PluginValuesAreNeverEchoedInErrors) {
  std::string e = Err("plugins:\n  - {name: v, path: /x.so, config: {token: {s3cr3t: 1}}}\n");
  EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << e;
}

TEST(Config, IsolationDefaultsAndKeys) {
  auto c = ParseConfig(
      "plugins:\n  - {name: vault, path: /p/v.so}\n"
      "  - {name: fast, path: /p/f.so, isolation: inline}\n"
      "  - {name: env, isolation: process}\n"
      "  - {name: run, path: /p/r.so, max_crashes: 5, crash_window: 2m, uid: 65534, gid: 65534,"
      " keep_fds: [5, 9]}\n",
      kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->provider_host, "/opt/lk/bin/latchkey-provider-host");
  EXPECT_EQ(c->FindPlugin("file")->isolation, Isolation::kInline);
  EXPECT_EQ(c->FindPlugin("store")->isolation, Isolation::kInline);
  EXPECT_EQ(c->FindPlugin("env")->isolation, Isolation::kProcess);
  EXPECT_EQ(c->FindPlugin("vault")->isolation, Isolation::kProcess);
  EXPECT_EQ(c->FindPlugin("vault")->max_crashes, 3u);
  EXPECT_EQ(c->FindPlugin("vault")->crash_window, std::chrono::minutes(1));
  EXPECT_EQ(c->FindPlugin("fast")->isolation, Isolation::kInline);
  const PluginConfig* run = c->FindPlugin("run");
  EXPECT_EQ(run->max_crashes, 5u);
  EXPECT_EQ(run->crash_window, std::chrono::minutes(2));
  EXPECT_EQ(run->uid, 65534u);
  EXPECT_EQ(run->gid, 65534u);
  EXPECT_EQ(run->keep_fds, (std::vector<int>{5, 9}));
  // The emitted configuration loads again, to the same settings.
  auto again = ParseConfig(EmitConfigYaml(*c, nullptr), kFile, Ctx());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->FindPlugin("run")->keep_fds, (std::vector<int>{5, 9}));
  EXPECT_EQ(again->FindPlugin("env")->isolation, Isolation::kProcess);
  EXPECT_EQ(again->FindPlugin("fast")->isolation, Isolation::kInline);
}

TEST(Config, IsolationErrors) {
  EXPECT_EQ(Err("plugins:\n  - {name: v, path: /v.so, isolation: sandbox}\n"),
            "/etc/latchkey/latchkey.yaml:2:39: plugins[0].isolation: expected \"process\" or "
            "\"inline\", got \"sandbox\"");
  EXPECT_EQ(Err("plugins:\n  - {name: v, path: /v.so, keep_fds: [3]}\n"),
            "/etc/latchkey/latchkey.yaml:2:39: plugins[0].keep_fds[0]: descriptor 3 cannot be "
            "kept: 0-2 are /dev/null and 3 is the host's socket");
  EXPECT_EQ(Err("plugins:\n  - {name: v, path: /v.so, isolation: inline, max_crashes: 2}\n"),
            "/etc/latchkey/latchkey.yaml:2:5: plugins[0]: max_crashes, crash_window, uid, gid and "
            "keep_fds apply to isolation: process only (this plugin runs inline)");
}

TEST(Config, Registries) {
  auto c = ParseConfig(
      "registries:\n  \"Reg.Example:5000\": {ca_file: certs/ca.crt}\n  127.0.0.1:5001:\n"
      "  plain.example: {insecure: true}\n",
      kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->registries.size(), 3u);
  EXPECT_EQ(c->registries[0].host, "127.0.0.1:5001");
  EXPECT_FALSE(c->registries[0].insecure);
  const RegistryHostConfig* r = c->FindRegistry("reg.example:5000");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->ca_file, "/etc/latchkey/certs/ca.crt");
  EXPECT_TRUE(c->FindRegistry("plain.example")->insecure);
  EXPECT_EQ(c->FindRegistry("other"), nullptr);
  // The emitted configuration loads again.
  auto again = ParseConfig(EmitConfigYaml(*c, nullptr), kFile, Ctx());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->FindRegistry("reg.example:5000")->ca_file, "/etc/latchkey/certs/ca.crt");

  EXPECT_EQ(Err("registries:\n  https://reg.example: {insecure: true}\n"),
            "/etc/latchkey/latchkey.yaml:2:3: registries.https://reg.example: expected a registry "
            "host such as registry.example.com:5000 (no scheme, no path)");
  EXPECT_EQ(Err("registries:\n  reg.example: {insecure: yes please}\n"),
            "/etc/latchkey/latchkey.yaml:2:27: registries.reg.example.insecure: expected a "
            "boolean, got \"yes please\"");
  EXPECT_EQ(Err("registries:\n  reg.example: {cafile: x}\n"),
            "/etc/latchkey/latchkey.yaml:2:17: registries.reg.example.cafile: unknown key (did you "
            "mean ca_file?)");
  EXPECT_EQ(Err("registries: [a]\n"),
            "/etc/latchkey/latchkey.yaml:1:13: registries: expected a mapping, got a sequence");
}

TEST(Config, RegistryCredentialsAndClientCertificates) {
  auto c = ParseConfig(
      "registries:\n  reg.example:5000: {provider: file, ref: /etc/latchkey/reg.json, client_cert: "
      "c.cert, client_key: c.key}\n",
      kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  const RegistryHostConfig* r = c->FindRegistry("reg.example:5000");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->provider, "file");
  EXPECT_EQ(r->ref, "/etc/latchkey/reg.json");
  EXPECT_EQ(r->client_cert, "/etc/latchkey/c.cert");
  EXPECT_EQ(r->client_key, "/etc/latchkey/c.key");
  EXPECT_EQ(c->certs_dir, "/etc/latchkey/certs.d");
  auto again = ParseConfig(EmitConfigYaml(*c, nullptr), kFile, Ctx());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->FindRegistry("reg.example:5000")->ref, "/etc/latchkey/reg.json");
  EXPECT_EQ(again->FindRegistry("reg.example:5000")->client_key, "/etc/latchkey/c.key");

  EXPECT_EQ(Err("registries:\n  reg.example: {provider: fiel, ref: x}\n"),
            "/etc/latchkey/latchkey.yaml:2:27: registries.reg.example.provider: unknown provider "
            "\"fiel\" (did you mean file?)");
  EXPECT_EQ(Err("registries:\n  reg.example: {provider: file}\n"),
            "/etc/latchkey/latchkey.yaml:2:16: registries.reg.example: missing required key "
            "\"ref\"");
  EXPECT_EQ(Err("registries:\n  reg.example: {client_cert: c.pem}\n"),
            "/etc/latchkey/latchkey.yaml:2:16: registries.reg.example: missing required key "
            "\"client_key\"");
}

TEST(Config, RegistryPolicyRules) {
  auto c = ParseConfig(
      "policy:\n  rules:\n    - {name: p, kind: registry, host: \"*.example\", repository: "
      "\"team/*\", scope: [pull, push], allow: true, reason: r}\n",
      kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->policy.rules().size(), 1u);
  const PolicyRule& rule = c->policy.rules()[0];
  EXPECT_EQ(rule.kind, RequestKind::kRegistry);
  EXPECT_EQ(rule.hosts[0].pattern(), "*.example");
  EXPECT_EQ(rule.repositories[0].pattern(), "team/*");
  EXPECT_EQ(rule.scopes, (std::vector<std::string>{"pull", "push"}));
  auto again = ParseConfig(EmitConfigYaml(*c, nullptr), kFile, Ctx());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->policy.rules()[0].kind, RequestKind::kRegistry);
  EXPECT_EQ(again->policy.rules()[0].scopes.size(), 2u);

  EXPECT_EQ(Err("policy:\n  rules:\n    - {name: p, host: x, allow: true, reason: r}\n"),
            "/etc/latchkey/latchkey.yaml:3:23: policy.rules[0].host: only a rule with kind: "
            "registry can match the registry host");
  EXPECT_EQ(Err("policy:\n  rules:\n    - {name: p, kind: registry, scope: delete, allow: true, "
                "reason: r}\n"),
            "/etc/latchkey/latchkey.yaml:3:40: policy.rules[0].scope: expected pull or push, got "
            "\"delete\"");
  EXPECT_EQ(Err("policy:\n  rules:\n    - {name: p, kind: image, allow: true, reason: r}\n"),
            "/etc/latchkey/latchkey.yaml:3:23: policy.rules[0].kind: expected secret or registry, "
            "got \"image\"");
  EXPECT_EQ(Err("policy:\n  rules:\n    - {name: docker-login, allow: true, reason: r}\n"),
            "/etc/latchkey/latchkey.yaml:3:14: policy.rules[0].name: \"docker-login\" is the name "
            "of a built-in rule; choose another name");
}

TEST(Config, BuilderGcPolicy) {
  auto c = ParseConfig("builder: {runtime: runc, gc: {keep_storage: 20GB, keep_duration: 168h}}\n",
                       "/etc/latchkey/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->builder.gc_present);
  EXPECT_EQ(*c->builder.gc_keep_storage, 20LL << 30);
  EXPECT_EQ(*c->builder.gc_keep_duration, std::chrono::hours(168));
}

// builder.use: the builder `latchkey build` uses by default (cli/builder_choice.h); with it the
// section needs no runtime, and `config check` prints it back.
TEST(Config, BuilderUse) {
  auto c = ParseConfig("builder: {use: docker}\n", "/etc/latchkey/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->builder.present);
  EXPECT_EQ(c->builder.use, "docker");
  EXPECT_EQ(c->builder.use_where.ToString(), "/etc/latchkey/latchkey.yaml:1:16");
  EXPECT_EQ(c->builder.runtime, "");
  auto again = ParseConfig(EmitConfigYaml(*c, nullptr), kFile, Ctx());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->builder.use, "docker");

  c = ParseConfig("builder:\n  runtime: crun\n  use: docker://unix:///run/d.sock\n",
                  "/etc/latchkey/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->builder.use, "docker://unix:///run/d.sock");
  EXPECT_EQ(c->builder.runtime, "crun");

  c = ParseConfig("builder: {runtime: runc}\n", "/etc/latchkey/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->builder.use, "");
}

// host: the latchkeyd the CLI uses by default (cli/daemon_client.h); `config check` prints it
// back.
TEST(Config, Host) {
  auto c = ParseConfig("host: unix:///run/latchkey/latchkeyd.sock\n", "/etc/latchkey/latchkey.yaml",
                       Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "unix:///run/latchkey/latchkeyd.sock");
  EXPECT_EQ(c->host_where.ToString(), "/etc/latchkey/latchkey.yaml:1:7");
  auto again = ParseConfig(EmitConfigYaml(*c, nullptr), kFile, Ctx());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->host, "unix:///run/latchkey/latchkeyd.sock");

  c = ParseConfig("host: embedded\n", "/etc/latchkey/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "embedded");

  c = ParseConfig("state_dir: /s\n", "/etc/latchkey/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "");
  EXPECT_EQ(EmitConfigYaml(*c, nullptr).find("host:"), std::string::npos);
}

TEST(Config, RelativePathsResolveAgainstTheFilesDirectory) {
  auto c = ParseConfig(
      "state_dir: state\nplugins:\n  - {name: v, path: ../plugins/v.so}\naudit: {path: "
      "logs/a.log}\nstore: {path: s, unlock_key_file: /k}\nbuilder: {runtime: crun}\n",
      "conf/latchkey.yaml", Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state_dir, "/work/conf/state");
  EXPECT_EQ(c->plugins[4].path, "/work/plugins/v.so");
  EXPECT_EQ(c->audit.path, "/work/conf/logs/a.log");
  EXPECT_EQ(c->audit.hmac_key_file, "/work/conf/state/audit-hmac.key");
  EXPECT_EQ(c->store.path, "/work/conf/s");
  EXPECT_EQ(c->builder.runtime, "crun");
}

TEST(Config, BundledPluginOverride) {
  auto c = ParseConfig(
      "plugins:\n  - name: env\n    sha256: "
      "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789\n    config: {allow: "
      "\"CI_*\", strict: true, retries: 3}\n",
      kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->plugins.size(), 4u);
  const PluginConfig* env = c->FindPlugin("env");
  ASSERT_NE(env, nullptr);
  EXPECT_TRUE(env->bundled);
  EXPECT_EQ(env->path, "/opt/lk/lib/latchkey/providers/latchkey-env.so");
  EXPECT_EQ(env->sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  ASSERT_EQ(env->config.size(), 3u);
  EXPECT_EQ(env->config[0], (std::pair<std::string, std::string>{"allow", "CI_*"}));
  EXPECT_EQ(env->config[1], (std::pair<std::string, std::string>{"strict", "true"}));
  EXPECT_EQ(env->config[2], (std::pair<std::string, std::string>{"retries", "3"}));
  EXPECT_EQ(env->where.line, 2);
}

TEST(Config, SecretsMayUseAConfiguredPlugin) {
  auto c = ParseConfig(
      "plugins: [{name: store, path: /s.so}]\nsecrets:\n  b: {provider: store, ref: x@2}\n  a: "
      "{provider: file, ref: /etc/a}\n",
      kFile, Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->secrets.size(), 2u);
  EXPECT_EQ(c->secrets[0].id, "a");  // sorted
  EXPECT_EQ(c->secrets[1].provider, "store");
  EXPECT_EQ(c->secrets[1].ref, "x@2");
  EXPECT_EQ(c->secrets[1].where.ToString(), "/etc/latchkey/latchkey.yaml:3:3");
}

TEST(Config, DurationsAndSizes) {
  EXPECT_EQ(ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(ParseDuration("1m30s"), std::chrono::milliseconds(90000));
  EXPECT_EQ(ParseDuration("2h"), std::chrono::milliseconds(7200000));
  EXPECT_EQ(ParseDuration("5"), std::nullopt);
  EXPECT_EQ(ParseDuration("-5s"), std::nullopt);
  EXPECT_EQ(ParseDuration("5 s"), std::nullopt);
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(90500)), "1m30s500ms");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(5000)), "5s");
  EXPECT_EQ(ParseDuration(FormatDuration(std::chrono::milliseconds(3723004))),
            std::chrono::milliseconds(3723004));
  EXPECT_EQ(ParseByteSize("4096"), 4096u);
  EXPECT_EQ(ParseByteSize("64MiB"), 64u << 20);
  EXPECT_EQ(ParseByteSize("1GiB"), 1u << 30);
  EXPECT_EQ(ParseByteSize("7KiB"), 7u << 10);
  EXPECT_EQ(ParseByteSize("10MB"), std::nullopt);
  EXPECT_EQ(ParseByteSize("99999999999999999999"), std::nullopt);
  EXPECT_EQ(ParseByteSize("MiB"), std::nullopt);
}

TEST(Config, DidYouMean) {
  EXPECT_EQ(ClosestMatch("polcy", {"policy", "plugins"}), "policy");
  EXPECT_EQ(ClosestMatch("zzz", {"policy", "log"}), "");
  EXPECT_EQ(ClosestMatch("lo", {"log"}), "log");
  EXPECT_EQ(ClosestMatch("x", {"log"}), "");
  EXPECT_EQ(ClosestMatch("unlock_key", {"path", "unlock_key_file"}), "unlock_key_file");
  EXPECT_EQ(ClosestMatch("path_", {"path_under", "path_not_under"}), "");
}

TEST(Config, SecretKeyHeuristic) {
  EXPECT_TRUE(LooksLikeSecretKey("p", "token"));
  EXPECT_TRUE(LooksLikeSecretKey("p", "api_key"));
  EXPECT_TRUE(LooksLikeSecretKey("p", "Password"));
  EXPECT_TRUE(LooksLikeSecretKey("p", "client-secret"));
  EXPECT_TRUE(LooksLikeSecretKey("p", "unlock.passphrase"));
  EXPECT_FALSE(LooksLikeSecretKey("p", "token_file"));
  EXPECT_FALSE(LooksLikeSecretKey("p", "password_env"));
  EXPECT_FALSE(LooksLikeSecretKey("p", "keyring_path"));
  EXPECT_FALSE(LooksLikeSecretKey("p", "monkey"));
  EXPECT_FALSE(LooksLikeSecretKey("p", "path"));
}

TEST(Config, EmitMasksSecretsAndRoundTrips) {
  std::string yaml = SourceDir() + "/config/latchkey.example.yaml";
  auto c = LoadConfig(yaml, Ctx(1000));
  ASSERT_TRUE(c.ok()) << c.status().message();
  c->plugins[2].config.emplace_back("api_token", "s3cr3t-value");
  std::string out = EmitConfigYaml(*c, nullptr);
  EXPECT_EQ(out.find("s3cr3t-value"), std::string::npos) << out;
  EXPECT_NE(out.find("api_token: \"****\""), std::string::npos) << out;
  EXPECT_NE(out.find("unlock_key_file: \"/etc/latchkey/store.key\""), std::string::npos) << out;
  // A custom hook decides instead of the heuristic.
  std::string custom = EmitConfigYaml(*c, [](const std::string& plugin, const std::string& key) {
    return plugin == "store" && key == "path";
  });
  EXPECT_NE(custom.find("path: \"****\""), std::string::npos) << custom;
  EXPECT_NE(custom.find("api_token: \"s3cr3t-value\""), std::string::npos) << custom;

  // Reloading the output gives the same effective configuration.
  auto again = ParseConfig(out, "/elsewhere/x.yaml", Ctx(1000));
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << out;
  EXPECT_EQ(EmitConfigYaml(*again, nullptr), out);
  EXPECT_EQ(again->policy.rules().size(), c->policy.rules().size());
}

TEST(Config, EmitDefaults) {
  auto c = DefaultConfig(Ctx(0));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(EmitConfigYaml(*c, nullptr),
            "state_dir: /var/lib/latchkey\n"
            "plugins:\n"
            "  - name: file\n"
            "    path: /opt/lk/lib/latchkey/providers/latchkey-file.so\n"
            "    isolation: inline\n"
            "  - name: env\n"
            "    path: /opt/lk/lib/latchkey/providers/latchkey-env.so\n"
            "    isolation: inline\n"
            "  - name: store\n"
            "    path: /opt/lk/lib/latchkey/providers/latchkey-store.so\n"
            "    isolation: inline\n"
            "    config:\n"
            "      path: \"/var/lib/latchkey/store/secrets.db\"\n"
            "      unlock_key_file: \"/var/lib/latchkey/store/unlock.key\"\n"
            "  - name: dockerconfig\n"
            "    path: /opt/lk/lib/latchkey/providers/latchkey-dockerconfig.so\n"
            "    isolation: inline\n"
            "fetch_timeout: 30s\n"
            "secrets: {}\n"
            "policy:\n"
            "  rules: []\n"
            "audit:\n"
            "  path: /var/lib/latchkey/audit/audit.log\n"
            "  fsync: per_record\n"
            "  timeout: 5s\n"
            "  rotation:\n"
            "    max_bytes: 67108864\n"
            "    max_files: 10\n"
            "  checkpoint_interval: 1000\n"
            "  hmac_key_file: /var/lib/latchkey/audit-hmac.key\n"
            "  signing_key_file: /var/lib/latchkey/audit-signing.key\n"
            "log:\n"
            "  format: text\n"
            "  level: info\n");
}

}  // namespace
}  // namespace latchkey

namespace latchkey {
namespace {

// latchkeyd's `daemon:` section (docs/daemon.md, "Who may connect").
TEST(Config, DaemonAccessLists) {
  auto c = ParseConfig("daemon:\n  allowed_uids: [0, 1000]\n  allowed_groups: [latchkey]\n", kFile,
                       Ctx());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->daemon.allowed_uids, (std::vector<uint32_t>{0, 1000}));
  EXPECT_EQ(c->daemon.allowed_groups, (std::vector<std::string>{"latchkey"}));
  EXPECT_NE(EmitConfigYaml(*c, LooksLikeSecretKey)
                .find("daemon:\n  allowed_uids: [0, 1000]\n  allowed_groups: [latchkey]"),
            std::string::npos)
      << EmitConfigYaml(*c, LooksLikeSecretKey);
  auto none = ParseConfig("state_dir: /s\n", kFile, Ctx());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->daemon.allowed_uids.empty());
  EXPECT_TRUE(none->daemon.allowed_groups.empty());

  EXPECT_EQ(Err("daemon:\n  allowed_uid: [1]\n"),
            "/etc/latchkey/latchkey.yaml:2:3: daemon.allowed_uid: unknown key (did you mean "
            "allowed_uids?)");
  EXPECT_EQ(Err("daemon:\n  allowed_uids: [alice]\n"),
            "/etc/latchkey/latchkey.yaml:2:18: daemon.allowed_uids[0]: expected an integer, got "
            "\"alice\"");
  EXPECT_EQ(Err("daemon:\n  allowed_groups: latchkey\n"),
            "/etc/latchkey/latchkey.yaml:2:19: daemon.allowed_groups: expected a list, got "
            "\"latchkey\"");
}

}  // namespace
}  // namespace latchkey
