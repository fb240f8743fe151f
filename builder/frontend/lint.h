// Dockerfile lint: BuildKit's SecretsUsedInArgOrEnv rule. A warning, never an error.
//
// A name is flagged when one of its '_'-separated words (case-insensitive) is apikey, auth,
// credential, credentials, key, password, pword, passwd, secret or token, unless one of its
// words is public, file or version. Rules can be skipped with the `# check=skip=<Rule>[,..]`
// directive (or `skip=all`), as in BuildKit.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_FRONTEND_LINT_H_
#define LATCHKEY_BUILDER_FRONTEND_LINT_H_

#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/instructions.h"

namespace latchkey::frontend {

struct LintWarning {
  std::string rule;     // "SecretsUsedInArgOrEnv"
  std::string message;  // "Do not use ARG or ENV instructions for sensitive data (ARG \"TOKEN\")"
  int line = 0;
  friend bool operator==(const LintWarning&, const LintWarning&) = default;
};

// True when `name` looks like it holds a secret (see above).
bool IsSecretLikeName(std::string_view name);

// Every warning for the file's ARG (global and per stage) and ENV instructions, in file order.
std::vector<LintWarning> LintDockerfile(const Dockerfile& df);

// "<file>:<line>: <rule>: <message>".
std::string FormatLintWarning(const LintWarning& w, std::string_view filename);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_LINT_H_
