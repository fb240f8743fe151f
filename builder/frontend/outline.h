// Outline: what a build of the selected target can ask for, before it runs. Lists the build
// args the target's stages declare or whose FROM lines use (global ARGs), and every
// RUN --mount=type=secret in the stages the target reaches (ids and targets shown expanded;
// pruned stages are not listed). Base images are not resolved (EmptyImageResolver), so a
// variable that only a base image's ENV would define expands to "".
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_FRONTEND_OUTLINE_H_
#define LATCHKEY_BUILDER_FRONTEND_OUTLINE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/config_eval.h"
#include "builder/frontend/lint.h"
#include "latchkey/status.h"

namespace latchkey::frontend {

struct OutlineOptions {
  std::string filename = "Dockerfile";  // labels errors and warnings
  std::string target;                   // "" = the last stage
  std::map<std::string, std::string> build_args;
};

struct OutlineArg {
  std::string name;
  std::optional<std::string> default_value;  // as written
  std::optional<std::string> value;          // effective (after --build-arg); nullopt = unset
  bool global = false;                       // declared before the first FROM
  std::string description;
  int line = 0;
  friend bool operator==(const OutlineArg&, const OutlineArg&) = default;
};

struct OutlineSecret {
  std::string id;
  bool required = false;
  std::optional<std::string> env;  // env var name, when the secret is exposed as one
  std::string target;              // file path; "" when env-only
  int line = 0;
  std::string stage;  // stage name, or "stage-<index>"
  friend bool operator==(const OutlineSecret&, const OutlineSecret&) = default;
};

struct Outline {
  std::string target;                  // the selected stage's name, or "stage-<index>"
  std::vector<OutlineArg> args;        // in line order, one per name
  std::vector<OutlineSecret> secrets;  // in line order, one per RUN --mount
  std::vector<LintWarning> warnings;   // lint warnings of the whole file
};

// Parses `text` and outlines the target. Errors carry "<file>:<line>: ".
Result<Outline> OutlineDockerfile(std::string_view text, const OutlineOptions& opts);

// Human-readable table (two sections, BUILD ARGS and SECRETS).
std::string OutlineToTable(const Outline& o);
// JSON: {"target":..., "args":[{name, default?, value?, global, description, line}],
//        "secrets":[{id, required, env?, target?, line, stage}]}.
std::string OutlineToJson(const Outline& o);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_OUTLINE_H_
