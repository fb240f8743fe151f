// Parsing the `policy:` section of the configuration into PolicyRules (see policy.h for the
// semantics and docs/policy.md for the keys). Part of the config loader; errors go to the
// shared YamlChecker so they are reported with everything else.
//
// Thread-safety: pure function of its arguments.
#ifndef LATCHKEY_BROKER_CONFIG_POLICY_H_
#define LATCHKEY_BROKER_CONFIG_POLICY_H_

#include <string>
#include <vector>

#include "broker/config_yaml.h"
#include "broker/policy.h"

namespace latchkey {

// The keys a rule accepts, in documentation order.
const std::vector<std::string>& PolicyRuleKeys();

// Parses `node` (the value of `policy:`; null means no rules). `providers` are the configured
// plugin names, which `provider:` values must be. Problems are recorded in `checker`; the
// returned rules are only meaningful when checker.ok().
std::vector<PolicyRule> ParsePolicySection(const YAML::Node& node,
                                           const std::vector<std::string>& providers,
                                           YamlChecker& checker);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_CONFIG_POLICY_H_
