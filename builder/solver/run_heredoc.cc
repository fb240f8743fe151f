#include "builder/solver/run_heredoc.h"

#include "builder/frontend/heredoc.h"

namespace latchkey::build {

Result<RunCommand> ResolveRunCommand(const frontend::Step& step) {
  const frontend::Instruction& ins = step.instruction;
  RunCommand out;
  if (ins.files.empty()) {
    out.argv = step.argv;
    return out;
  }
  if (!ins.prepend_shell || ins.cmd.size() != 1) {
    return InvalidArgumentError("RUN with a heredoc needs the shell form");
  }
  std::vector<std::string> shell =
      step.config->shell.value_or(std::vector<std::string>{"/bin/sh", "-c"});
  const std::string& line = ins.cmd.front();
  Result<std::optional<frontend::Heredoc>> only = frontend::ParseHeredoc(line);
  if (only.ok() && only->has_value() && ins.files.size() == 1) {
    const frontend::InlineFile& f = ins.files.front();
    out.scripts.push_back(f);
    out.argv = shell;
    out.argv.push_back(std::string(kHeredocMountDir) + "/" + f.name);
    return out;
  }
  std::string cmd = line;
  for (const frontend::InlineFile& f : ins.files) cmd += "\n" + f.data + f.name;
  out.argv = shell;
  out.argv.push_back(cmd);
  return out;
}

}  // namespace latchkey::build
