#include "broker/config_policy.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "broker/state_dir.h"

namespace latchkey {
namespace {

bool ValidRuleName(const std::string& n) {
  if (n.empty() || n.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Calls fn(item_node, item_path) for a scalar or for each item of a non-empty list.
void ForEachItem(const YAML::Node& node, const std::string& path, YamlChecker& c,
                 const std::function<void(const YAML::Node&, const std::string&)>& fn) {
  if (node.IsSequence()) {
    if (node.size() == 0) {
      c.Error(node, path, "expected a value or a non-empty list, got an empty list");
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) fn(node[i], IndexPath(path, i));
    return;
  }
  if (node.IsScalar()) {
    fn(node, path);
    return;
  }
  c.Error(node, path, "expected a value or a list of values, got " + YamlChecker::Describe(node));
}

void Globs(const YAML::Node& node, const std::string& path, YamlChecker& c,
           std::vector<Glob>* out) {
  ForEachItem(node, path, c, [&](const YAML::Node& n, const std::string& p) {
    auto s = c.GetString(n, p);
    if (!s) return;
    auto g = Glob::Compile(*s);
    if (!g.ok()) {
      c.Error(n, p, g.status().message());
      return;
    }
    out->push_back(std::move(*g));
  });
}

void AbsolutePaths(const YAML::Node& node, const std::string& path, YamlChecker& c,
                   std::vector<std::string>* out) {
  ForEachItem(node, path, c, [&](const YAML::Node& n, const std::string& p) {
    auto s = c.GetString(n, p);
    if (!s) return;
    if ((*s)[0] != '/') {
      c.Error(n, p, "expected an absolute path, got \"" + *s + "\"");
      return;
    }
    out->push_back(NormalizePath(*s));
  });
}

PolicyRule ParseRule(const YAML::Node& node, const std::string& path,
                     const std::vector<std::string>& providers, YamlChecker& c) {
  PolicyRule r;
  r.where = c.MarkOf(node);
  c.CheckKeys(node, path, PolicyRuleKeys());
  c.RequireKeys(node, path, {"name", "allow", "reason"});
  if (node["name"]) {
    auto name = c.GetString(node["name"], KeyPath(path, "name"));
    if (name) {
      if (!ValidRuleName(*name)) {
        c.Error(node["name"], KeyPath(path, "name"),
                "invalid rule name \"" + *name +
                    "\": use letters, digits, '-', '_' and '.', starting with a letter or digit");
      } else if (*name == kDeclaredSourceRule || *name == kDefaultDenyProviderRule ||
                 *name == kDockerLoginRule) {
        c.Error(node["name"], KeyPath(path, "name"),
                "\"" + *name + "\" is the name of a built-in rule; choose another name");
      }
      r.name = *name;
    }
  }
  if (node["allow"]) {
    auto allow = c.GetBool(node["allow"], KeyPath(path, "allow"));
    if (allow) r.allow = *allow;
  }
  if (node["reason"]) {
    auto reason = c.GetString(node["reason"], KeyPath(path, "reason"));
    if (reason) r.reason = *reason;
  }
  if (node["secret"]) Globs(node["secret"], KeyPath(path, "secret"), c, &r.secrets);
  if (node["provider"]) {
    ForEachItem(node["provider"], KeyPath(path, "provider"), c,
                [&](const YAML::Node& n, const std::string& p) {
                  auto s = c.GetString(n, p);
                  if (!s) return;
                  if (std::find(providers.begin(), providers.end(), *s) == providers.end()) {
                    std::string hint = ClosestMatch(*s, providers);
                    std::string list;
                    for (const auto& name : providers) list += (list.empty() ? "" : ", ") + name;
                    c.Error(n, p,
                            "unknown provider \"" + *s + "\"" +
                                (hint.empty() ? " (configured: " + list + ")"
                                              : " (did you mean " + hint + "?)"));
                    return;
                  }
                  r.providers.push_back(*s);
                });
  }
  if (node["source"]) {
    ForEachItem(node["source"], KeyPath(path, "source"), c,
                [&](const YAML::Node& n, const std::string& p) {
                  auto s = c.GetString(n, p);
                  if (!s) return;
                  if (*s == "file") {
                    r.sources.push_back(SecretSource::Kind::kFile);
                  } else if (*s == "env") {
                    r.sources.push_back(SecretSource::Kind::kEnv);
                  } else if (*s == "provider") {
                    r.sources.push_back(SecretSource::Kind::kProvider);
                  } else {
                    c.Error(n, p, "expected file, env or provider, got \"" + *s + "\"");
                  }
                });
  }
  if (node["user"]) Globs(node["user"], KeyPath(path, "user"), c, &r.users);
  if (node["uid"]) {
    ForEachItem(node["uid"], KeyPath(path, "uid"), c,
                [&](const YAML::Node& n, const std::string& p) {
                  auto v = c.GetInt(n, p, 0, 4294967294LL);
                  if (v) r.uids.push_back(static_cast<uint32_t>(*v));
                });
  }
  if (node["client_cn"]) Globs(node["client_cn"], KeyPath(path, "client_cn"), c, &r.client_cns);
  if (node["labels"]) {
    const YAML::Node& labels = node["labels"];
    std::string lp = KeyPath(path, "labels");
    if (!labels.IsMap() || labels.size() == 0) {
      c.Error(
          labels, lp,
          "expected a mapping of label names to globs, got " +
              (labels.IsMap() ? std::string("an empty mapping") : YamlChecker::Describe(labels)));
    } else {
      c.ForEachEntry(labels, lp, "a label name", [&](const YamlChecker::MapEntry& e) {
        const std::string& key = e.name;
        const std::string& kp = e.path;
        auto pattern = c.GetString(e.value, kp, /*allow_empty=*/true);
        if (!pattern) return;
        auto g = Glob::Compile(*pattern);
        if (!g.ok()) {
          c.Error(e.value, kp, g.status().message());
          return;
        }
        r.labels.emplace_back(key, std::move(*g));
      });
    }
  }
  if (node["dockerfile"]) Globs(node["dockerfile"], KeyPath(path, "dockerfile"), c, &r.dockerfiles);
  if (node["context"]) Globs(node["context"], KeyPath(path, "context"), c, &r.contexts);
  if (node["path_under"])
    AbsolutePaths(node["path_under"], KeyPath(path, "path_under"), c, &r.path_under);
  if (node["path_not_under"]) {
    AbsolutePaths(node["path_not_under"], KeyPath(path, "path_not_under"), c, &r.path_not_under);
  }
  if (node["kind"]) {
    if (auto k = c.GetString(node["kind"], KeyPath(path, "kind"))) {
      if (*k == "registry") {
        r.kind = RequestKind::kRegistry;
      } else if (*k != "secret") {
        c.Error(node["kind"], KeyPath(path, "kind"),
                "expected secret or registry, got \"" + *k + "\"");
      }
    }
  }
  // The registry matchers describe registry requests only.
  for (const char* key : {"host", "repository", "scope"}) {
    if (node[key] && r.kind != RequestKind::kRegistry) {
      c.Error(node[key], KeyPath(path, key),
              std::string("only a rule with kind: registry can match the registry ") + key);
    }
  }
  if (node["host"]) Globs(node["host"], KeyPath(path, "host"), c, &r.hosts);
  if (node["repository"]) {
    Globs(node["repository"], KeyPath(path, "repository"), c, &r.repositories);
  }
  if (node["scope"]) {
    ForEachItem(node["scope"], KeyPath(path, "scope"), c,
                [&](const YAML::Node& n, const std::string& p) {
                  auto s = c.GetString(n, p);
                  if (!s) return;
                  if (*s != "pull" && *s != "push") {
                    c.Error(n, p, "expected pull or push, got \"" + *s + "\"");
                    return;
                  }
                  r.scopes.push_back(*s);
                });
  }
  return r;
}

}  // namespace

const std::vector<std::string>& PolicyRuleKeys() {
  static const std::vector<std::string> keys = {
      "name",           "allow", "reason", "secret",     "provider", "source",
      "user",           "uid",   "labels", "dockerfile", "context",  "path_under",
      "path_not_under", "kind",  "host",   "repository", "scope",    "client_cn"};
  return keys;
}

std::vector<PolicyRule> ParsePolicySection(const YAML::Node& node,
                                           const std::vector<std::string>& providers,
                                           YamlChecker& c) {
  std::vector<PolicyRule> rules;
  if (!node.IsDefined() || node.IsNull()) return rules;
  if (!c.ExpectMap(node, "policy")) return rules;
  c.CheckKeys(node, "policy", {"rules"});
  const YAML::Node list = node["rules"];
  if (!list.IsDefined() || list.IsNull()) return rules;
  if (!c.ExpectSequence(list, "policy.rules")) return rules;
  std::map<std::string, SourceMark> names;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = IndexPath("policy.rules", i);
    const YAML::Node item = list[i];
    if (!c.ExpectMap(item, path, /*allow_null=*/false)) continue;
    PolicyRule rule = ParseRule(item, path, providers, c);
    if (!rule.name.empty()) {
      auto [it, inserted] = names.emplace(rule.name, rule.where);
      if (!inserted) {
        c.Error(item["name"], KeyPath(path, "name"),
                "duplicate rule name \"" + rule.name + "\" (first defined at " +
                    it->second.ToString() + ")");
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace latchkey
