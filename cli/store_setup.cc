#include "cli/store_setup.h"

#include <unistd.h>

#include <iostream>

#include "broker/config_env.h"
#include "broker/state_dir.h"

extern char** environ;

namespace latchkey::cli {

int Usage(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return kExitUsage;
}

Status ResolveStoreLocation(store::StoreLocation* loc) {
  if (!loc->store_path.empty() && !loc->unlock_key_file.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(
      std::string state_dir,
      ResolveStateDir("", SnapshotEnv(environ, {"HOME", "XDG_STATE_HOME"}), ::geteuid()));
  store::ApplyDefaultPaths(state_dir, loc);
  return Status::OK();
}

}  // namespace latchkey::cli
