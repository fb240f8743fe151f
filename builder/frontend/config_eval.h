// The stage evaluator: runs the metadata instructions of every stage the target reaches and
// expands what BuildKit expands, producing each stage's final image config and its build
// steps with expanded values (RUN mounts after pass 2 of mount_flags.h, COPY sources, ...).
//
// Config model (BuildKit's dispatch):
//   * every stage starts from a FRESH copy of its base's config: ImageConfig::Scratch() for
//     `scratch`, the resolver's config for an image, the final config of the stage it is FROM;
//     nothing carries over from the previous stage, and siblings never share state;
//   * ONBUILD triggers in the base config run first in the child stage, then are cleared;
//   * ENV, ARG, WORKDIR (relative to the previous one), USER, LABEL, EXPOSE, VOLUME, CMD,
//     ENTRYPOINT (resets an inherited CMD unless this stage set CMD before it), SHELL,
//     STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER (author) update the config; shell-form
//     CMD/ENTRYPOINT become SHELL + command; HEALTHCHECK CMD shell form is ["CMD-SHELL", cmd].
//   * Expansion (ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, RUN --mount
//     values, ARG defaults) sees the stage's variables: the base config's ENV, then each ARG
//     and ENV in order (a later one replaces an earlier one of the same name).
//   * ARG scoping: a stage ARG takes its --build-arg value, else its default (expanded), else
//     the global ARG of the same name (redeclaring a global ARG imports it), else stays unset.
//     Proxy build args (PredefinedProxyArgs) reach RUN's environment without an ARG line.
//   * Memory stays linear in the Dockerfile: steps share config snapshots (see Step::config),
//     and everything the evaluation keeps (steps, snapshots, each RUN's environment and ARG
//     list, ENV/LABEL/ARG values, each stage's config) is counted against kMaxEvaluatedBytes;
//     past it the evaluation fails with "<file>:<line>: the evaluated steps, image configs and
//     step environments exceed 64 MiB: use fewer instructions or fewer and smaller ENV,
//     LABEL, ARG and WORKDIR values". Together with the expansion limits of shell_lex.h this
//     keeps `dockerfile outline` of any 1 MB Dockerfile under 256 MiB of memory
//     (tests/fuzz/hostile_dockerfile_test.sh).
//
// Thread-safety: EvaluateBuild is a pure function except for calls into the resolver.
#ifndef LATCHKEY_BUILDER_FRONTEND_CONFIG_EVAL_H_
#define LATCHKEY_BUILDER_FRONTEND_CONFIG_EVAL_H_

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/frontend/image_config.h"
#include "builder/frontend/instructions.h"
#include "builder/frontend/mount_flags.h"
#include "builder/frontend/stages.h"
#include "latchkey/status.h"

namespace latchkey::frontend {

// Resolves a base image reference to its config. The builder implements it with its image
// store; tests use MapImageResolver.
class BaseImageResolver {
 public:
  virtual ~BaseImageResolver() = default;
  // `platform` is the stage's --platform (expanded) or the target platform. Failure aborts
  // the evaluation with the returned status (prefixed with the FROM line).
  virtual Result<ImageConfig> Resolve(const std::string& ref, const std::string& platform) = 0;
};

// A fixed map ref -> config. Unknown refs fail with NotFound
// "base image <ref> not found (no config known for it)".
class MapImageResolver : public BaseImageResolver {
 public:
  explicit MapImageResolver(std::map<std::string, ImageConfig> images)
      : images_(std::move(images)) {}
  Result<ImageConfig> Resolve(const std::string& ref, const std::string& platform) override;

 private:
  std::map<std::string, ImageConfig> images_;
};

// Every image resolves to an empty config (os/arch of the platform, nothing else). For
// inspecting a Dockerfile without pulling anything (outline).
class EmptyImageResolver : public BaseImageResolver {
 public:
  Result<ImageConfig> Resolve(const std::string& ref, const std::string& platform) override;
};

// One instruction of a stage after expansion.
struct Step {
  Instruction instruction;  // with expanded fields: words, kvs, sources, dest, chown, chmod
  int line = 0;
  bool from_onbuild = false;  // a trigger inherited from the base config
  // RUN: the argv (shell form: SHELL + command), the expanded mounts, and the environment the
  // process gets (config ENV + ARGs in scope + proxy build args), as "K=V".
  std::vector<std::string> argv;
  std::vector<MountSpec> mounts;
  std::vector<std::string> run_env;
  // COPY --from / RUN mounts: the stage index used, or -1 with `from_image` set.
  int from_stage = -1;
  std::string from_image;
  // Never null. RUN/COPY/ADD: the full config the step runs with (USER, WORKDIR, SHELL, ENV),
  // immutable and shared with the other RUN/COPY/ADD steps of the stage that see the same
  // config (a new snapshot only after an instruction changed it). Every other instruction:
  // only the part of the config after the step that its history text needs (ENV: the env
  // entries of its keys; LABEL: the labels of its keys; WORKDIR, USER, CMD, ENTRYPOINT,
  // SHELL, STOPSIGNAL, MAINTAINER: that field; os/architecture/variant always), so that a
  // run of metadata instructions does not keep one full copy of the config each.
  std::shared_ptr<const ImageConfig> config;
  // RUN only: the ARGs declared in the stage so far with their values ("" when unset), for
  // BuildKit's history text (`RUN |1 FOO=bar /bin/sh -c ...`).
  std::vector<std::pair<std::string, std::string>> stage_args;
};

struct EvaluatedStage {
  int index = 0;
  std::string name;
  std::string base;  // expanded base name
  int base_stage = -1;
  ImageConfig config;             // the final config
  std::vector<ResolvedArg> args;  // ARGs declared in this stage (incl. inherited globals)
  std::vector<Step> steps;
  VarMap vars;  // the variables in scope at the end of the stage
};

struct EvaluatedBuild {
  StageGraph graph;
  std::vector<EvaluatedStage> stages;  // reachable stages in build order
  // The evaluated stage with this index, or nullptr when it was pruned.
  const EvaluatedStage* Stage(int index) const;
};

// The most the evaluation keeps in configs, RUN environments and variable values (see the
// top of this file).
inline constexpr size_t kMaxEvaluatedBytes = size_t{64} << 20;

// Evaluates the stages the target reaches. Errors carry "<file>:<line>: ".
Result<EvaluatedBuild> EvaluateBuild(const Dockerfile& df, const BuildOptions& opts,
                                     BaseImageResolver& resolver,
                                     std::string_view filename = "Dockerfile");

// Applies one metadata instruction to `config` (exposed for tests): `vars` is the expansion
// scope and is updated by ENV. RUN/COPY/ADD leave the config unchanged.
Status ApplyToConfig(const Instruction& ins, const ShellLex& lex, VarMap& vars, ImageConfig& config,
                     bool& cmd_set);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_CONFIG_EVAL_H_
