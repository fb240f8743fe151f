// The stage graph of a multi-stage Dockerfile and the global (meta) ARG scope, as BuildKit's
// dockerfile2llb builds them:
//   * global ARGs (before the first FROM) are resolved in order: a --build-arg overrides the
//     default, defaults expand with the earlier global ARGs and the automatic platform args;
//   * every FROM's base name and --platform expand in that global scope; a base that names an
//     EARLIER stage (case-insensitive) makes this stage build on it, anything else is an image
//     ("scratch" is the empty image);
//   * COPY --from=<name|index> and RUN --mount=from=<name|index> add dependencies on any stage;
//     a value that names no stage is an image: an implicit source the build must release;
//   * --target picks the final stage (default: the last one); stages it does not reach are
//     pruned; cycles are errors.
//
// Errors (InvalidArgument, "<file>:<line>: <cause>"):
//   target stage "<t>" could not be found              (line of the last FROM)
//   circular dependency detected on stage: <name>
//   invalid stage index <n> (stages 0..<k>)
//   base name (<raw>) should not be blank
//   duplicate stage name "<name>"
//   dockerfile contains no stages to build
//   any shell-lexer expansion error of a FROM line
//
// Thread-safety: pure functions over values.
#ifndef LATCHKEY_BUILDER_FRONTEND_STAGES_H_
#define LATCHKEY_BUILDER_FRONTEND_STAGES_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/instructions.h"
#include "builder/frontend/shell_lex.h"
#include "latchkey/status.h"

namespace latchkey::frontend {

// The proxy build args Docker predefines: usable through --build-arg without an ARG line
// (they reach RUN's environment, but are not expanded in instructions unless declared).
const std::vector<std::string>& PredefinedProxyArgs();

struct BuildOptions {
  std::string target;                             // "" = the last stage
  std::map<std::string, std::string> build_args;  // --build-arg k=v
  std::string target_platform = "linux/amd64";    // os/arch[/variant]
  std::string build_platform = "linux/amd64";
};

// TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH,
// BUILDVARIANT for the given options.
VarMap AutomaticPlatformArgs(const BuildOptions& opts);

// One ARG as resolved in some scope.
struct ResolvedArg {
  std::string name;
  std::optional<std::string> default_value;  // as written (unexpanded); nullopt when absent
  std::optional<std::string> value;          // effective value; nullopt = unset
  int line = 0;
  std::string description;  // the comment line(s) right above the ARG
};

struct StageNode {
  int index = 0;
  std::string name;       // lower-cased, "" when unnamed
  std::string base;       // expanded base name
  std::string platform;   // expanded --platform ("" when absent)
  int base_stage = -1;    // index of the stage this one is FROM, or -1 (image or scratch)
  bool scratch = false;   // FROM scratch
  std::vector<int> deps;  // stages this one needs (FROM, COPY --from, RUN --mount from), unique
  std::vector<std::string> used_meta_args;  // global ARG names its FROM line referenced
  int line = 0;
};

// An image used directly by COPY --from / RUN --mount=from that is not a stage.
struct ImplicitImageSource {
  std::string image;
  std::vector<int> lines;    // every instruction line that uses it (reachable stages only)
  std::vector<int> used_by;  // stage indexes (reachable only), unique, ascending
};

struct StageGraph {
  std::vector<StageNode> stages;  // every stage, by index
  int target = -1;
  std::vector<int> build_order;                      // the reachable stages, dependencies first
  std::vector<bool> reachable;                       // by stage index
  std::vector<ImplicitImageSource> implicit_images;  // from reachable stages, first-use order
  std::vector<ResolvedArg> meta_args;                // global ARGs, resolved
  VarMap meta_scope;  // platform args + resolved global ARGs (set ones)
};

// Resolves a COPY --from / mount from value to a stage index; -1 when it names no stage.
// `value` is compared case-insensitively with stage names, then parsed as an index.
Result<int> FindStageRef(const std::vector<StageNode>& stages, std::string_view value);

Result<StageGraph> BuildStageGraph(const Dockerfile& df, const BuildOptions& opts,
                                   std::string_view filename = "Dockerfile");

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_STAGES_H_
