// The text BuildKit shows when a RUN step's process exits non-zero
// (solver/llbsolver/ops/exec.go: `process %q did not complete successfully: exit code: %d`,
// with the args joined by single spaces and quoted as Go's %q does), plus the display masking of
// env= secrets from BuildKit PR #5336: every `$NAME` and `${NAME}` of a secret exposed as an
// environment variable is shown as `****`, to make clear the value comes from a secret.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_EXECUTOR_PROCESS_ERROR_H_
#define LATCHKEY_BUILDER_EXECUTOR_PROCESS_ERROR_H_

#include <string>
#include <string_view>
#include <vector>

namespace latchkey::executor {

// Replaces `$NAME` (when not followed by [A-Za-z0-9_]) and `${NAME}` by "****" for each name.
std::string MaskSecretEnvRefs(std::string_view command, const std::vector<std::string>& names);

// `process "<args joined by spaces, masked>" did not complete successfully: exit code: <n>`.
// A command longer than base::kMaxDisplayBytes (base/go_text.h) is cut there and shown with "...".
std::string FormatProcessFailure(const std::vector<std::string>& args,
                                 const std::vector<std::string>& secret_env_names, int exit_code);

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_PROCESS_ERROR_H_
