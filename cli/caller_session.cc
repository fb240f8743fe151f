#include "cli/caller_session.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "broker/secret_flags.h"
#include "cli/cli_setup.h"

namespace latchkey::cli {

Status SetCallerAttributes(const Broker& broker, const std::vector<std::string>& secret_flags,
                           SessionAttributes* attrs) {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  LK_ASSIGN_OR_RETURN(attrs->declared,
                      ParseSecretFlags(secret_flags, broker.FlagContext(ProcessEnvNames(), cwd)));
  LK_ASSIGN_OR_RETURN(attrs->environment, ProcessEnvironment());
  attrs->uid = ::geteuid();
  if (const char* user = std::getenv("USER")) attrs->user = user;
  attrs->working_dir = std::move(cwd);
  return Status::OK();
}

}  // namespace latchkey::cli
