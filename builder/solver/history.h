// The texts BuildKit derives from one evaluated Dockerfile step: the image history line
// ("created_by") and the progress display name. Ported from dockerfile2llb (convert.go:
// commitToHistory, runCommandString, prefixCommand, withSecretEnvMask).
//
// Neither text ever holds a secret value: RUN history is the command and the stage's build
// args (never mount flags); display names mask `$NAME` / `${NAME}` of env= secrets as "****".
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_SOLVER_HISTORY_H_
#define LATCHKEY_BUILDER_SOLVER_HISTORY_H_

#include <string>
#include <utility>
#include <vector>

#include "builder/frontend/config_eval.h"

namespace latchkey::build {

// BuildKit's runCommandString: "|<n> K=V ... " before the args when the stage declared build
// args (their value from `env` when set there, else the ARG's value), then the args joined by
// spaces. `env` entries are "K=V".
std::string RunCommandString(const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& build_args,
                             const std::vector<std::string>& env);

// The history "created_by" of a step, e.g. "RUN /bin/sh -c make # buildkit",
// "COPY --from=build /app /srv # buildkit", "ENV A=1 B=2", "CMD [\"/bin/sh\" \"-c\" \"x\"]",
// "WORKDIR /app". RUN, COPY and ADD end in " # buildkit" (they carry a filesystem change).
std::string HistoryCreatedBy(const frontend::Step& step);

// The instruction as shown in progress output and recorded in audit step context: the
// logical line as written with its keyword upper-cased ("RUN --mount=type=secret,id=x cat x"),
// env= secret references masked.
std::string StepDisplayText(const frontend::Step& step);

// The env= names of a step's secret mounts.
std::vector<std::string> SecretEnvNames(const frontend::Step& step);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_HISTORY_H_
