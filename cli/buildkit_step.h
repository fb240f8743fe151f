// BuildKit's step names and the Dockerfile lines they come from: what `latchkey build --builder
// docker` needs to show the Dockerfile excerpt of the step that failed (cli/build_report.h), when
// all it has is the name of the failed vertex Docker Engine's BuildKit sent.
//
// BuildKit's Dockerfile frontend (frontend/dockerfile/dockerfile2llb, prefixCommand) names the
// vertex of a step "[<stage> <k>/<n>] <INSTRUCTION> <args>": <stage> is the stage's `AS` name
// (lower-cased), "stage-<i>" for an unnamed stage of a multi-stage Dockerfile (i: its index,
// from 0), and absent when the Dockerfile has one stage; a platform ("linux/amd64") comes first
// when BuildKit prefixes platforms; <k> is right-aligned to the width of <n> ("[ 1/10]"). In a
// stage, <n> counts FROM when the stage starts from an image (not scratch, not an earlier
// stage), plus every ADD, COPY and RUN, plus every WORKDIR (BuildKit's file operations; not with
// the build arg BUILDKIT_DISABLE_FILEOP=1); the steps are numbered in that order, FROM first.
// (latchkey's embedded builder, builder/solver/builder.cc, numbers only FROM, ADD, COPY and RUN,
// and counts FROM in every stage.)
//
// Thread-safety: pure functions over their arguments.
#ifndef LATCHKEY_CLI_BUILDKIT_STEP_H_
#define LATCHKEY_CLI_BUILDKIT_STEP_H_

#include <optional>
#include <string>
#include <string_view>

#include "builder/solver/builder.h"

namespace latchkey::cli {

// The parts of a step vertex's name.
struct BuildkitStepName {
  std::string platform;     // "linux/amd64"; "" when absent
  std::string stage;        // "build", "stage-1"; "" when absent
  int index = 0;            // k, from 1
  int total = 0;            // n
  std::string instruction;  // the first word after "] ", as written: "RUN", "FROM"
};

// Parses "[<platform> <stage> <k>/<n>] <INSTRUCTION> ..." as described above. nullopt for a
// name of another shape ("[internal] load metadata for docker.io/library/busybox:latest",
// "exporting to image") or with 0 < k <= n not holding.
std::optional<BuildkitStepName> ParseBuildkitStepName(std::string_view name);

// Where the step BuildKit named `vertex_name` is in the Dockerfile `dockerfile_text`, parsed with
// latchkey's own frontend: for the k-th step of the named stage, its instruction's first and last
// line (a FROM step: the FROM line). `vertex` is `vertex_name`. line and end_line are 0 when the
// name is not a step's, the Dockerfile does not parse, the stage is not there, the counts do not
// match the stage's instructions in either of BuildKit's two ways of counting WORKDIR, or the
// instruction found is not the one the name starts with.
build::BuildFailure LocateBuildkitStep(std::string_view vertex_name,
                                       std::string_view dockerfile_text);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BUILDKIT_STEP_H_
