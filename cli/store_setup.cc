#include "cli/store_setup.h"

#include <iostream>

namespace latchkey::cli {

int Usage(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return kExitUsage;
}

Status ResolveStoreLocation(const GlobalOptions& global, store::StoreLocation* loc) {
  if (!loc->store_path.empty() && !loc->unlock_key_file.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(global));
  if (loc->store_path.empty()) loc->store_path = config.store.path;
  if (loc->unlock_key_file.empty()) loc->unlock_key_file = config.store.unlock_key_file;
  return Status::OK();
}

}  // namespace latchkey::cli
