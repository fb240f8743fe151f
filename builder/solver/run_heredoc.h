// RUN with here-documents, as BuildKit's dispatchRun does it (dockerfile2llb convert.go):
//   * `RUN <<EOF` (the command is exactly one heredoc): the body becomes an executable file
//     (mode 0755) mounted read-only at /dev/pipes/EOF, and the command is SHELL + that path
//     (so a `#!` line picks the interpreter, anything else runs in the shell);
//   * any other shell-form RUN with heredocs (`RUN <<EOT bash`, `RUN cat <<A <<B`): each body
//     and its terminator are appended to the command line, and the shell reads them as real
//     heredocs.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_SOLVER_RUN_HEREDOC_H_
#define LATCHKEY_BUILDER_SOLVER_RUN_HEREDOC_H_

#include <string>
#include <vector>

#include "builder/frontend/config_eval.h"
#include "latchkey/status.h"

namespace latchkey::build {

// Where BuildKit mounts a single-heredoc script.
inline constexpr const char* kHeredocMountDir = "/dev/pipes";

struct RunCommand {
  std::vector<std::string> argv;  // what the process runs
  // Files to mount under kHeredocMountDir (name, data), mode 0755, read-only.
  std::vector<frontend::InlineFile> scripts;
};

// The command of a RUN step with its heredocs applied (without heredocs: step.argv as is).
// INVALID_ARGUMENT "RUN with a heredoc needs the shell form" for an exec-form RUN with
// heredocs (BuildKit refuses it too).
Result<RunCommand> ResolveRunCommand(const frontend::Step& step);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_RUN_HEREDOC_H_
