#include "broker/policy.h"

#include <gtest/gtest.h>

#include "broker/config.h"

namespace latchkey {
namespace {

using Kind = SecretSource::Kind;

ConfigContext TestContext() {
  ConfigContext ctx;
  ctx.env = {{"HOME", "/home/u"}};
  ctx.euid = 1000;
  ctx.exe_dir = "/opt/lk/bin";
  ctx.cwd = "/";
  return ctx;
}

// Builds a Policy from YAML text (the `policy:` section and what it needs).
Policy PolicyFrom(const std::string& yaml) {
  auto cfg = ParseConfig(yaml, "/etc/latchkey/latchkey.yaml", TestContext());
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  if (!cfg.ok()) return Policy();
  return cfg->policy;
}

const char* kRules = R"(
plugins:
  - name: store
    path: /usr/lib/latchkey/providers/latchkey-store.so
policy:
  rules:
    - name: no-env
      source: env
      allow: false
      reason: environment variables leak into process listings
    - name: files-in-home-only
      source: file
      path_not_under: [/home, /tmp/ci]
      allow: false
      reason: declared files must live under /home or /tmp/ci
    - name: no-ssh-keys
      source: file
      path_under: /home/*/.ssh
      allow: false
      reason: never the literal star directory
    - name: ci-registry
      secret: registry-token
      provider: store
      labels: {ci: "true"}
      user: "ci-*"
      allow: true
      reason: CI may read the registry token
    - name: release-signing
      secret: "sign-*"
      provider: store
      uid: [0, 1001]
      dockerfile: /src/**/Dockerfile.release
      context: /src/**
      allow: true
      reason: release builds sign
    - name: team-npm
      secret: [npmrc, "npm-*"]
      provider: [store, file]
      labels: {team: "web-?", env: "*"}
      allow: true
      reason: web teams get npm credentials
    - name: deny-rest-of-store
      provider: store
      allow: false
      reason: everything else in the store is off limits
)";

PolicyRequest FileReq(const std::string& id, const std::string& path) {
  PolicyRequest r;
  r.secret_id = id;
  r.source = Kind::kFile;
  r.provider = "file";
  r.file_path = path;
  return r;
}

PolicyRequest EnvReq(const std::string& id) {
  PolicyRequest r;
  r.secret_id = id;
  r.source = Kind::kEnv;
  r.provider = "env";
  return r;
}

PolicyRequest StoreReq(const std::string& id) {
  PolicyRequest r;
  r.secret_id = id;
  r.source = Kind::kProvider;
  r.provider = "store";
  return r;
}

template <typename F>
PolicyRequest With(PolicyRequest r, F f) {
  f(r);
  return r;
}

struct Case {
  const char* what;
  PolicyRequest req;
  bool allowed;
  const char* rule;
};

TEST(Policy, DecisionsTable) {
  Policy p = PolicyFrom(kRules);
  ASSERT_EQ(p.rules().size(), 7u);
  const Case cases[] = {
      {"env source denied", EnvReq("token"), false, "no-env"},
      {"file under /home allowed by default", FileReq("npmrc", "/home/u/.npmrc"), true,
       "declared-source"},
      {"file under /tmp/ci allowed", FileReq("x", "/tmp/ci/a/b"), true, "declared-source"},
      {"file outside the prefixes denied", FileReq("x", "/etc/shadow"), false,
       "files-in-home-only"},
      {"prefix is per component", FileReq("x", "/homer/x"), false, "files-in-home-only"},
      {"dotdot is normalised", FileReq("x", "/home/u/../../etc/shadow"), false,
       "files-in-home-only"},
      {"path_under is literal, not a glob", FileReq("x", "/home/u/.ssh/id_rsa"), true,
       "declared-source"},
      {"ci registry allowed",
       With(StoreReq("registry-token"),
            [](auto& r) {
              r.user = "ci-runner";
              r.labels = {{"ci", "true"}};
            }),
       true, "ci-registry"},
      {"ci registry wrong user",
       With(StoreReq("registry-token"),
            [](auto& r) {
              r.user = "alice";
              r.labels = {{"ci", "true"}};
            }),
       false, "deny-rest-of-store"},
      {"ci registry label missing",
       With(StoreReq("registry-token"), [](auto& r) { r.user = "ci-runner"; }), false,
       "deny-rest-of-store"},
      {"signing by uid 1001 with matching paths",
       With(StoreReq("sign-key"),
            [](auto& r) {
              r.uid = 1001;
              r.dockerfile = "/src/app/deploy/Dockerfile.release";
              r.context = "/src/app";
            }),
       true, "release-signing"},
      {"signing with no uid",
       With(StoreReq("sign-key"),
            [](auto& r) {
              r.dockerfile = "/src/app/Dockerfile.release";
              r.context = "/src/app";
            }),
       false, "deny-rest-of-store"},
      {"signing wrong dockerfile",
       With(StoreReq("sign-key"),
            [](auto& r) {
              r.uid = 0;
              r.dockerfile = "/src/app/Dockerfile";
              r.context = "/src/app";
            }),
       false, "deny-rest-of-store"},
      {"npm from store with team label",
       With(StoreReq("npm-ci"),
            [](auto& r) {
              r.labels = {{"team", "web-a"}, {"env", "x"}};
            }),
       true, "team-npm"},
      {"npm label glob ? is one char",
       With(StoreReq("npmrc"),
            [](auto& r) {
              r.labels = {{"team", "web-ab"}, {"env", "x"}};
            }),
       false, "deny-rest-of-store"},
      {"other store secret denied", StoreReq("db-password"), false, "deny-rest-of-store"},
      {"provider file binding under /home allowed by team-npm",
       With(FileReq("npmrc", "/home/u/npmrc"),
            [](auto& r) {
              r.source = Kind::kProvider;
              r.labels = {{"team", "web-b"}, {"env", "prod"}};
            }),
       true, "team-npm"},
      {"provider file binding without rule: default deny",
       With(FileReq("other", "/home/u/x"), [](auto& r) { r.source = Kind::kProvider; }), false,
       "default-deny-provider"},
  };
  for (const auto& c : cases) {
    PolicyDecision d = p.Decide(c.req);
    EXPECT_EQ(d.allowed, c.allowed) << c.what;
    EXPECT_EQ(d.rule, c.rule) << c.what;
  }
}

TEST(Policy, NoRulesDefaults) {
  Policy p;
  PolicyDecision d = p.Decide(FileReq("npmrc", "/etc/x"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "declared-source");
  EXPECT_EQ(d.rule_index, -1);
  EXPECT_EQ(d.Describe(),
            "allow by rule \"declared-source\" (built in): declared with --secret (file source); "
            "allowed for this session only");
  d = p.Decide(EnvReq("T"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "declared with --secret (env source); allowed for this session only");
  d = p.Decide(StoreReq("npmrc"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.Describe(),
            "deny by rule \"default-deny-provider\" (built in): no policy rule allows secret "
            "\"npmrc\" from provider store; add a rule with allow: true under policy.rules");
  // A store secret named with --secret type=store is the user's own, like a file.
  PolicyRequest declared = StoreReq("npmrc");
  declared.declared = true;
  d = p.Decide(declared);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.Describe(),
            "allow by rule \"declared-source\" (built in): declared with --secret (store "
            "secret); allowed for this session only");
  // A source the client of latchkeyd declared and serves (provider "client") is the user's
  // own too.
  declared.provider = "client";
  d = p.Decide(declared);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.Describe(),
            "allow by rule \"declared-source\" (built in): declared with --secret (client "
            "secret); allowed for this session only");
  declared.declared = false;
  EXPECT_EQ(p.Decide(declared).rule, "default-deny-provider");
  declared.declared = true;
  // Only those two: another provider named on the command line still needs a rule.
  declared.provider = "vault";
  EXPECT_EQ(p.Decide(declared).rule, "default-deny-provider");
}

TEST(Policy, RulesCanForbidDeclaredStoreSecrets) {
  // The store is bundled: a rule may name it without a plugins: entry.
  Policy p = PolicyFrom(R"(
policy:
  rules:
    - {name: store-closed, provider: store, source: provider, allow: false, reason: ask}
)");
  PolicyRequest declared = StoreReq("npmrc");
  declared.declared = true;
  PolicyDecision d = p.Decide(declared);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "store-closed");
}

TEST(Policy, FirstMatchWins) {
  Policy p = PolicyFrom(R"(
policy:
  rules:
    - {name: a, secret: "x*", allow: false, reason: first}
    - {name: b, secret: "x*", allow: true, reason: second}
)");
  PolicyDecision d = p.Decide(EnvReq("xy"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "a");
  EXPECT_EQ(d.rule_index, 0);
}

TEST(Policy, CatchAllRuleMatchesEverything) {
  Policy p = PolicyFrom(R"(
policy:
  rules:
    - {name: lockdown, allow: false, reason: maintenance}
)");
  EXPECT_FALSE(p.Decide(FileReq("a", "/home/u/a")).allowed);
  EXPECT_EQ(p.Decide(EnvReq("a")).rule, "lockdown");
}

// Issue 11 item 2: `latchkey build .` gave "/ctx//Dockerfile", which a rule on
// "/ctx/Dockerfile" did not match.
TEST(Policy, DockerfileAndContextAreMatchedInOneSpelling) {
  Policy p = PolicyFrom(R"(
policy:
  rules:
    - {name: untrusted-ctx, dockerfile: /ctx/Dockerfile, allow: false, reason: untrusted}
    - {name: untrusted-dir, context: /ctx, allow: false, reason: untrusted}
)");
  for (const char* df : {"/ctx//Dockerfile", "/ctx//./Dockerfile", "/ctx/a/../Dockerfile"}) {
    PolicyRequest r = EnvReq("a");
    r.dockerfile = df;
    EXPECT_EQ(p.Decide(r).rule, "untrusted-ctx") << df;
  }
  PolicyRequest r = EnvReq("a");
  r.context = "/ctx//./";
  EXPECT_EQ(p.Decide(r).rule, "untrusted-dir");
}

TEST(Policy, ExplainNamesEverySkippedRuleAndWhy) {
  Policy p = PolicyFrom(kRules);
  PolicyRequest r = With(StoreReq("sign-key"), [](auto& q) {
    q.uid = 1000;
    q.user = "bob";
    q.dockerfile = "/src/a/Dockerfile";
    q.labels = {{"team", "ops"}};
  });
  PolicyExplanation e = p.Explain(r);
  ASSERT_EQ(e.skipped.size(), 6u);
  EXPECT_EQ(e.skipped[0].Describe(), "rule \"no-env\" skipped: source is provider, rule wants env");
  EXPECT_EQ(e.skipped[1].Describe(),
            "rule \"files-in-home-only\" skipped: source is provider, rule wants file");
  EXPECT_EQ(e.skipped[2].Describe(),
            "rule \"no-ssh-keys\" skipped: source is provider, rule wants file");
  EXPECT_EQ(e.skipped[3].Describe(),
            "rule \"ci-registry\" skipped: secret id is \"sign-key\", rule wants "
            "\"registry-token\"");
  EXPECT_EQ(e.skipped[4].Describe(),
            "rule \"release-signing\" skipped: uid is 1000, rule wants one of 0, 1001");
  EXPECT_EQ(e.skipped[5].Describe(),
            "rule \"team-npm\" skipped: secret id is \"sign-key\", rule wants one of \"npmrc\", "
            "\"npm-*\"");
  EXPECT_EQ(e.decision.Describe(),
            "deny by rule \"deny-rest-of-store\" (policy.rules[6], "
            "/etc/latchkey/latchkey.yaml:42): everything else in the store is off limits");
}

TEST(Policy, MismatchTexts) {
  Policy p = PolicyFrom(kRules);
  const auto& rules = p.rules();
  // ci-registry: user and label reasons.
  PolicyRequest r = StoreReq("registry-token");
  EXPECT_EQ(Policy::Mismatch(rules[3], r), "no user given, rule wants \"ci-*\"");
  r.user = "ci-1";
  EXPECT_EQ(Policy::Mismatch(rules[3], r), "label ci is not set, rule wants \"true\"");
  r.labels = {{"ci", "false"}};
  EXPECT_EQ(Policy::Mismatch(rules[3], r), "label ci is \"false\", rule wants \"true\"");
  r.labels = {{"ci", "true"}};
  EXPECT_EQ(Policy::Mismatch(rules[3], r), std::nullopt);
  r.provider = "vault";
  EXPECT_EQ(Policy::Mismatch(rules[3], r), "provider is vault, rule wants store");
  // release-signing: uid, dockerfile, context.
  PolicyRequest s = StoreReq("sign-1");
  EXPECT_EQ(Policy::Mismatch(rules[4], s), "no uid given, rule wants one of 0, 1001");
  s.uid = 0;
  EXPECT_EQ(Policy::Mismatch(rules[4], s),
            "no Dockerfile given, rule wants \"/src/**/Dockerfile.release\"");
  s.dockerfile = "/src/Dockerfile.release";
  EXPECT_EQ(Policy::Mismatch(rules[4], s), "no context given, rule wants \"/src/**\"");
  s.context = "/other";
  EXPECT_EQ(Policy::Mismatch(rules[4], s), "context is \"/other\", rule wants \"/src/**\"");
  // Path rules.
  EXPECT_EQ(Policy::Mismatch(rules[1], FileReq("x", "/home/u/a")),
            "file path \"/home/u/a\" is under /home, rule wants a path outside one of /home, "
            "/tmp/ci");
  EXPECT_EQ(Policy::Mismatch(rules[2], FileReq("x", "/etc/a")),
            "file path \"/etc/a\" is not under /home/*/.ssh");
  PolicyRule path_only = rules[2];
  path_only.sources.clear();
  EXPECT_EQ(Policy::Mismatch(path_only, EnvReq("x")),
            "the secret is not read from a file, rule wants a file path");
}

TEST(Policy, PathUnder) {
  EXPECT_TRUE(Policy::PathUnder("/home/u/x", "/home"));
  EXPECT_TRUE(Policy::PathUnder("/home", "/home/"));
  EXPECT_FALSE(Policy::PathUnder("/homer", "/home"));
  EXPECT_TRUE(Policy::PathUnder("/anything", "/"));
  EXPECT_FALSE(Policy::PathUnder("/home/../etc/x", "/home"));
}

}  // namespace
}  // namespace latchkey

namespace latchkey {
namespace {

const char* kRegistryRules = R"(
registries:
  reg.example.com: {provider: file, ref: /etc/latchkey/reg.json}
policy:
  rules:
    - name: any-secret
      secret: "*"
      allow: true
      reason: secrets are another kind
    - {name: release-push, kind: registry, scope: push, labels: {release: "true"}, allow: true, reason: releases push}
    - {name: team-pull, kind: registry, host: "*.example.com", repository: "team/*", scope: pull, allow: true, reason: the team's images}
)";

PolicyRequest RegistryRequest(const std::string& host, const std::string& repo,
                              const std::string& scope) {
  PolicyRequest q;
  q.kind = RequestKind::kRegistry;
  q.secret_id = "registry:" + host;
  q.host = host;
  q.repository = repo;
  q.scope = scope;
  q.provider = "file";
  return q;
}

TEST(PolicyRegistry, RulesMatchTheirKindHostRepositoryAndScope) {
  Policy p = PolicyFrom(kRegistryRules);
  PolicyExplanation e = p.Explain(RegistryRequest("reg.example.com", "team/app", "pull"));
  EXPECT_TRUE(e.decision.allowed);
  EXPECT_EQ(e.decision.rule, "team-pull");
  ASSERT_EQ(e.skipped.size(), 2u);
  EXPECT_EQ(e.skipped[0].Describe(),
            "rule \"any-secret\" skipped: request is of kind registry, rule wants secret");
  EXPECT_EQ(e.skipped[1].Describe(),
            "rule \"release-push\" skipped: scope is pull, rule wants push");

  PolicyExplanation other = p.Explain(RegistryRequest("reg.example.com", "ops/app", "pull"));
  EXPECT_FALSE(other.decision.allowed);
  EXPECT_EQ(other.skipped.back().Describe(),
            "rule \"team-pull\" skipped: repository is \"ops/app\", rule wants \"team/*\"");
  EXPECT_EQ(other.decision.Describe(),
            "deny by rule \"default-deny-provider\" (built in): no policy rule allows the registry "
            "credential for reg.example.com (scope pull) from provider file; add a rule with "
            "kind: registry and allow: true under policy.rules");

  PolicyRequest push = RegistryRequest("reg.example.com", "team/app", "push");
  EXPECT_FALSE(p.Decide(push).allowed);
  push.labels["release"] = "true";
  EXPECT_EQ(p.Decide(push).rule, "release-push");

  // A registry rule never decides a build secret.
  PolicyRequest secret;
  secret.secret_id = "registry:reg.example.com";
  secret.provider = "file";
  EXPECT_EQ(p.Decide(secret).rule, "any-secret");
}

TEST(PolicyRegistry, TheUsersOwnDockerLoginIsAllowedByDefault) {
  PolicyRequest q = RegistryRequest("docker.io", "library/debian", "push");
  q.provider = "dockerconfig";
  q.declared = true;
  PolicyDecision d = Policy().Decide(q);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.Describe(),
            "allow by rule \"docker-login\" (built in): registry credential for docker.io (scope "
            "push) from provider dockerconfig: the user's own Docker login (docker.io has no "
            "registries: entry); allowed for this session only");
}

// `client_cn:` matches the client certificate of a latchkeyd TCP caller (docs/policy.md).
TEST(Policy, ClientCnMatchesTheTlsCallerOnly) {
  Policy p = PolicyFrom(R"(
plugins:
  - name: store
    path: /usr/lib/latchkey/providers/latchkey-store.so
policy:
  rules:
    - name: ci-runners
      client_cn: ["ci-*"]
      provider: store
      allow: true
      reason: CI runners may read store secrets
)");
  PolicyRequest q;
  q.secret_id = "tok";
  q.provider = "store";
  q.client_cn = "ci-runner-7";
  PolicyDecision d = p.Decide(q);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "ci-runners");

  q.client_cn = "laptop";
  d = p.Decide(q);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, kDefaultDenyProviderRule);
  EXPECT_EQ(Policy::Mismatch(p.rules()[0], q), "client_cn is \"laptop\", rule wants \"ci-*\"");
  // A local caller (no certificate) never matches a client_cn rule, whatever its uid.
  q.client_cn = "";
  q.uid = 0;
  EXPECT_EQ(Policy::Mismatch(p.rules()[0], q), "no client_cn given, rule wants \"ci-*\"");
}

TEST(Policy, ClientCnMustBeAGlobList) {
  auto cfg = ParseConfig(R"(
policy:
  rules:
    - name: bad
      client_cn: {a: b}
      allow: true
      reason: x
)",
                         "/etc/latchkey/latchkey.yaml", TestContext());
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("policy.rules[0].client_cn"), std::string::npos)
      << cfg.status().message();
}

}  // namespace
}  // namespace latchkey
