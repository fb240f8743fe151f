// Policy: which secret requests a session may serve. Rules are checked in order; the first
// rule whose every matcher matches decides (allow or deny, with its reason). When no rule
// matches, one of two built-in rules decides:
//   "declared-source"        allow: a file or env source the user declared with --secret, or
//                            a secret of the bundled store provider the user named with
//                            --secret type=store, or (latchkeyd) a source the client declared
//                            and serves over its session (provider "client"), is the user's
//                            own, usable for that session only;
//   "default-deny-provider"  deny:  any other secret from a configured provider (a `secrets:`
//                            binding, or --secret type=<provider> for a provider other than
//                            store) needs a rule that allows it.
// So rules can forbid declared sources (no env sources; files only under /home) and must
// grant provider secrets.
//
// Registry credentials (the secret `registry:<host>` the registry client asks for, with a
// repository and a scope) are requests of kind "registry". A rule matches one kind: rules
// without `kind:` match secret requests only, rules with `kind: registry` registry requests
// only (and only they may use the `host:`, `repository:` and `scope:` matchers). When no rule
// matches a registry request:
//   "docker-login"           allow: the credential comes from the user's own Docker login
//                            (no `registries:` entry for the host: the dockerconfig provider),
//                            or (latchkeyd) from the login the client serves over its session
//                            (provider "client");
//   "default-deny-provider"  deny:  a `registries:` entry's provider needs a rule that allows
//                            it, as a `secrets:` binding does.
// The user-facing description is docs/policy.md.
//
// Thread-safety: a Policy is immutable after construction; Decide/Explain are const and safe
// to call from many threads.
#ifndef LATCHKEY_BROKER_POLICY_H_
#define LATCHKEY_BROKER_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/config_mark.h"
#include "broker/glob.h"
#include "broker/secret_flags.h"

namespace latchkey {

inline constexpr const char* kDeclaredSourceRule = "declared-source";
inline constexpr const char* kDefaultDenyProviderRule = "default-deny-provider";
inline constexpr const char* kDockerLoginRule = "docker-login";

// What a request asks for: a build secret (RUN --mount=type=secret, `session check`) or a
// registry credential (`registry:<host>`, asked for by the registry client).
enum class RequestKind { kSecret, kRegistry };
const char* RequestKindName(RequestKind kind);  // "secret", "registry"
// The provider whose secrets a --secret flag may name like a file (the "declared-source" rule).
inline constexpr const char* kDeclarableProvider = "store";
// The provider name of secrets the client of a latchkeyd session serves (`--secret` file and
// env sources of `latchkey build --host`): resolved by the daemon's broker like any provider
// (policy decides, secret.fetch is written first) but fetched over the session
// (SessionAttributes::client_secrets, broker/session.h).
inline constexpr char kClientProvider[] = "client";

// One secret request, as the session describes it to the policy. Strings are empty when
// unknown; an unknown attribute never matches a rule that constrains it.
struct PolicyRequest {
  RequestKind kind = RequestKind::kSecret;
  std::string secret_id;  // for a registry request: "registry:<host>"
  // How the secret was specified: kFile / kEnv for sources declared with --secret;
  // kProvider for configured providers (a `secrets:` binding or --secret type=<provider>).
  SecretSource::Kind source = SecretSource::Kind::kProvider;
  // True when the user named the secret with --secret (any kind); false for a `secrets:`
  // binding. For a registry request: true when the credential is the user's own Docker login
  // (no `registries:` entry for the host), false for a `registries:` entry's provider.
  bool declared = false;
  // The provider that reads the value: "file" for declared files, "env" for declared
  // variables, else the configured provider's name ("store", or "file" for a binding
  // `{provider: file, ref: /etc/x}`).
  std::string provider;
  // Absolute path of the file the value is read from (declared file sources; provider "file"
  // bindings); empty otherwise. Callers pass the real path of the opened file
  // (broker/source_path.h) so that a symlink cannot step outside a path rule. Normalised
  // lexically before matching.
  std::string file_path;
  std::string user;             // the requesting user's name
  std::optional<uint32_t> uid;  // the requesting uid
  // The subject CN of the client certificate of a latchkeyd TCP (mutual TLS) connection; empty
  // for local callers (docs/daemon.md).
  std::string client_cn;
  std::map<std::string, std::string> labels;  // build labels (--label k=v)
  // Absolute paths of the Dockerfile and the build context; callers pass CanonicalPath()
  // (broker/source_path.h); normalised lexically again before matching.
  std::string dockerfile;
  std::string context;
  // Registry requests only: the registry host as in the image reference
  // ("registry.example.com:5000", "docker.io"), the repository ("team/app") and the scope:
  // "pull", or "push" (which includes pull).
  std::string host;
  std::string repository;
  std::string scope;
};

// One rule. Every matcher present must match (AND); a list matches when any entry does
// (OR); an absent matcher matches anything.
struct PolicyRule {
  std::string name;                                  // unique, required
  bool allow = false;                                // allow or deny
  std::string reason;                                // shown in decisions and audit records
  std::vector<Glob> secrets;                         // `secret:` globs on the id
  std::vector<std::string> providers;                // `provider:` exact names
  std::vector<SecretSource::Kind> sources;           // `source:` file | env | provider
  std::vector<Glob> users;                           // `user:` globs on the user name
  std::vector<uint32_t> uids;                        // `uid:`
  std::vector<Glob> client_cns;                      // `client_cn:` globs on the TLS subject CN
  std::vector<std::pair<std::string, Glob>> labels;  // `labels:` key -> glob; all must match
  std::vector<Glob> dockerfiles;                     // `dockerfile:` globs
  std::vector<Glob> contexts;                        // `context:` globs
  std::vector<std::string> path_under;               // file_path is under one of these (normalised)
  std::vector<std::string> path_not_under;           // file_path is under none of these
  RequestKind kind = RequestKind::kSecret;           // `kind:` secret (default) | registry
  std::vector<Glob> hosts;                           // `host:` globs (kind registry)
  std::vector<Glob> repositories;                    // `repository:` globs (kind registry)
  std::vector<std::string> scopes;                   // `scope:` pull | push (kind registry)
  SourceMark where;                                  // where the rule is written
};

// The outcome. `rule_index` is the rule's position in Policy::rules(), or -1 for the two
// built-in rules (then `where.file` is empty).
struct PolicyDecision {
  bool allowed = false;
  std::string rule;
  std::string reason;
  int rule_index = -1;
  SourceMark where;

  // `allow by rule "ci-registry" (policy.rules[0], latchkey.yaml:14): CI may read ...`
  // or `deny by rule "default-deny-provider" (built in): ...`.
  std::string Describe() const;
};

// An earlier rule that did not match, and the first matcher that failed.
struct PolicyRuleSkip {
  int rule_index = 0;
  std::string rule;
  std::string why;  // "source is file, rule wants env"

  // `rule "no-env" skipped: source is file, rule wants env`
  std::string Describe() const;
};

struct PolicyExplanation {
  PolicyDecision decision;
  std::vector<PolicyRuleSkip> skipped;  // in rule order, every rule before the deciding one
};

class Policy {
 public:
  Policy() = default;
  // `rules` must already be validated (unique names; the config loader does this).
  explicit Policy(std::vector<PolicyRule> rules) : rules_(std::move(rules)) {}

  PolicyDecision Decide(const PolicyRequest& request) const;
  PolicyExplanation Explain(const PolicyRequest& request) const;

  const std::vector<PolicyRule>& rules() const { return rules_; }

  // Why `rule` does not match `request` (the first failing matcher), or nullopt when it
  // matches.
  static std::optional<std::string> Mismatch(const PolicyRule& rule, const PolicyRequest& request);
  // True when normalised `path` equals `prefix` or lies below it ("/home" covers
  // "/home/u/x" but not "/homer").
  static bool PathUnder(const std::string& path, const std::string& prefix);

 private:
  std::vector<PolicyRule> rules_;
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_POLICY_H_
