#include "cli/store_setup.h"

namespace latchkey::cli {

void AddStoreOptions(CLI::App* sub, store::StoreLocation* loc) {
  auto* key = sub->add_option("--unlock-key-file", loc->unlock_key_file,
                              "Unlock key file (default <state_dir>/store/unlock.key)");
  auto* fd = sub->add_option("--passphrase-fd", loc->passphrase_fd,
                             "Read the store passphrase from this file descriptor")
                 ->check(CLI::NonNegativeNumber);
  key->excludes(fd);
  sub->add_option("--store", loc->store_path,
                  "Store database (default <state_dir>/store/secrets.db)");
}

Status ResolveStoreLocation(const GlobalOptions& global, store::StoreLocation* loc) {
  if (!loc->store_path.empty() && !loc->unlock_key_file.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(global));
  if (loc->store_path.empty()) loc->store_path = config.store.path;
  if (loc->unlock_key_file.empty()) loc->unlock_key_file = config.store.unlock_key_file;
  return Status::OK();
}

}  // namespace latchkey::cli
