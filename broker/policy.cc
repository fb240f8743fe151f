#include "broker/policy.h"

#include <algorithm>

#include "broker/state_dir.h"

namespace latchkey {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// `"a"` or `one of "a", "b"`.
template <typename T, typename F>
std::string Wants(const std::vector<T>& items, F show) {
  if (items.size() == 1) return show(items[0]);
  std::string out = "one of ";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += show(items[i]);
  }
  return out;
}

std::string ShowGlob(const Glob& g) { return Quote(g.pattern()); }
std::string ShowPlain(const std::string& s) { return s; }
std::string ShowKind(SecretSource::Kind k) { return SecretSourceKindName(k); }
std::string ShowUid(uint32_t u) { return std::to_string(u); }

bool AnyGlob(const std::vector<Glob>& globs, const std::string& text) {
  return std::any_of(globs.begin(), globs.end(), [&](const Glob& g) { return g.Match(text); });
}

// Checks an optional string attribute against globs.
std::optional<std::string> GlobField(const std::vector<Glob>& globs, const std::string& value,
                                     const char* what) {
  if (globs.empty()) return std::nullopt;
  if (value.empty()) {
    return std::string("no ") + what + " given, rule wants " + Wants(globs, ShowGlob);
  }
  if (AnyGlob(globs, value)) return std::nullopt;
  return std::string(what) + " is " + Quote(value) + ", rule wants " + Wants(globs, ShowGlob);
}

std::string Normalized(const std::string& path) {
  return path.empty() ? path : NormalizePath(path);
}

}  // namespace

bool Policy::PathUnder(const std::string& path, const std::string& prefix) {
  std::string p = NormalizePath(path);
  std::string q = NormalizePath(prefix);
  if (q == "/") return !p.empty() && p[0] == '/';
  if (p == q) return true;
  return p.size() > q.size() && p.compare(0, q.size(), q) == 0 && p[q.size()] == '/';
}

const char* RequestKindName(RequestKind kind) {
  return kind == RequestKind::kRegistry ? "registry" : "secret";
}

std::optional<std::string> Policy::Mismatch(const PolicyRule& rule, const PolicyRequest& req) {
  if (rule.kind != req.kind) {
    return std::string("request is of kind ") + RequestKindName(req.kind) + ", rule wants " +
           RequestKindName(rule.kind);
  }
  if (!rule.secrets.empty() && !AnyGlob(rule.secrets, req.secret_id)) {
    return "secret id is " + Quote(req.secret_id) + ", rule wants " + Wants(rule.secrets, ShowGlob);
  }
  if (!rule.sources.empty() &&
      std::find(rule.sources.begin(), rule.sources.end(), req.source) == rule.sources.end()) {
    return std::string("source is ") + SecretSourceKindName(req.source) + ", rule wants " +
           Wants(rule.sources, ShowKind);
  }
  if (!rule.providers.empty() && std::find(rule.providers.begin(), rule.providers.end(),
                                           req.provider) == rule.providers.end()) {
    return "provider is " + (req.provider.empty() ? std::string("unknown") : req.provider) +
           ", rule wants " + Wants(rule.providers, ShowPlain);
  }
  if (auto why = GlobField(rule.hosts, req.host, "host")) return why;
  if (auto why = GlobField(rule.repositories, req.repository, "repository")) return why;
  if (!rule.scopes.empty() &&
      std::find(rule.scopes.begin(), rule.scopes.end(), req.scope) == rule.scopes.end()) {
    return "scope is " + (req.scope.empty() ? std::string("unknown") : req.scope) +
           ", rule wants " + Wants(rule.scopes, ShowPlain);
  }
  if (auto why = GlobField(rule.users, req.user, "user")) return why;
  if (!rule.uids.empty()) {
    if (!req.uid) return "no uid given, rule wants " + Wants(rule.uids, ShowUid);
    if (std::find(rule.uids.begin(), rule.uids.end(), *req.uid) == rule.uids.end()) {
      return "uid is " + std::to_string(*req.uid) + ", rule wants " + Wants(rule.uids, ShowUid);
    }
  }
  if (auto why = GlobField(rule.client_cns, req.client_cn, "client_cn")) return why;
  for (const auto& [key, glob] : rule.labels) {
    auto it = req.labels.find(key);
    if (it == req.labels.end()) {
      return "label " + key + " is not set, rule wants " + Quote(glob.pattern());
    }
    if (!glob.Match(it->second)) {
      return "label " + key + " is " + Quote(it->second) + ", rule wants " + Quote(glob.pattern());
    }
  }
  // Paths are matched in one spelling: "/ctx//./Dockerfile" is "/ctx/Dockerfile".
  if (auto why = GlobField(rule.dockerfiles, Normalized(req.dockerfile), "Dockerfile")) return why;
  if (auto why = GlobField(rule.contexts, Normalized(req.context), "context")) return why;
  if (!rule.path_under.empty() || !rule.path_not_under.empty()) {
    if (req.file_path.empty()) {
      return std::string("the secret is not read from a file, rule wants a file path");
    }
    std::string path = NormalizePath(req.file_path);
    if (!rule.path_under.empty() &&
        std::none_of(rule.path_under.begin(), rule.path_under.end(),
                     [&](const std::string& p) { return PathUnder(path, p); })) {
      return "file path " + Quote(path) + " is not under " + Wants(rule.path_under, ShowPlain);
    }
    for (const std::string& p : rule.path_not_under) {
      if (PathUnder(path, p)) {
        return "file path " + Quote(path) + " is under " + p + ", rule wants a path outside " +
               Wants(rule.path_not_under, ShowPlain);
      }
    }
  }
  return std::nullopt;
}

PolicyExplanation Policy::Explain(const PolicyRequest& request) const {
  PolicyExplanation out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const PolicyRule& rule = rules_[i];
    auto why = Mismatch(rule, request);
    if (why) {
      out.skipped.push_back(PolicyRuleSkip{static_cast<int>(i), rule.name, std::move(*why)});
      continue;
    }
    out.decision.allowed = rule.allow;
    out.decision.rule = rule.name;
    out.decision.reason = rule.reason;
    out.decision.rule_index = static_cast<int>(i);
    out.decision.where = rule.where;
    return out;
  }
  if (request.kind == RequestKind::kRegistry) {
    const std::string what = "registry credential for " + request.host + " (scope " +
                             request.scope + ") from provider " +
                             (request.provider.empty() ? std::string("unknown") : request.provider);
    if (request.declared) {
      out.decision.allowed = true;
      out.decision.rule = kDockerLoginRule;
      out.decision.reason =
          request.provider == kClientProvider
              ? what +
                    ": the user's own login, served by the latchkeyd client over its "
                    "session; allowed for this session only"
              : what + ": the user's own Docker login (" + request.host +
                    " has no registries: entry); allowed for this session only";
    } else {
      out.decision.allowed = false;
      out.decision.rule = kDefaultDenyProviderRule;
      out.decision.reason = "no policy rule allows the " + what +
                            "; add a rule with kind: registry and allow: true under policy.rules";
    }
    return out;
  }
  bool declared_store =
      request.source == SecretSource::Kind::kProvider && request.declared &&
      (request.provider == kDeclarableProvider || request.provider == kClientProvider);
  if (request.source == SecretSource::Kind::kProvider && !declared_store) {
    out.decision.allowed = false;
    out.decision.rule = kDefaultDenyProviderRule;
    out.decision.reason = "no policy rule allows secret " + Quote(request.secret_id) +
                          " from provider " +
                          (request.provider.empty() ? std::string("unknown") : request.provider) +
                          "; add a rule with allow: true under policy.rules";
  } else {
    out.decision.allowed = true;
    out.decision.rule = kDeclaredSourceRule;
    out.decision.reason =
        std::string("declared with --secret (") +
        (declared_store ? request.provider + " secret"
                        : std::string(SecretSourceKindName(request.source)) + " source") +
        "); allowed for this session only";
  }
  return out;
}

PolicyDecision Policy::Decide(const PolicyRequest& request) const {
  return Explain(request).decision;
}

std::string PolicyDecision::Describe() const {
  std::string out = allowed ? "allow" : "deny";
  out += " by rule " + Quote(rule) + " (";
  if (rule_index >= 0) {
    out += "policy.rules[" + std::to_string(rule_index) + "], " + where.FileAndLine();
  } else {
    out += "built in";
  }
  out += "): " + reason;
  return out;
}

std::string PolicyRuleSkip::Describe() const { return "rule " + Quote(rule) + " skipped: " + why; }

}  // namespace latchkey
