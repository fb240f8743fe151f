// Start-up shared by `latchkey secret` and `latchkey store`, the commands that open the
// encrypted store directly (they hold keys and secret data in memory).
#ifndef LATCHKEY_CLI_STORE_SETUP_H_
#define LATCHKEY_CLI_STORE_SETUP_H_

#include <CLI/CLI.hpp>

#include <string>

#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "latchkey/status.h"
#include "secure/hardening.h"
#include "store/store_cli.h"

namespace latchkey::cli {

// Adds the options naming a store and its key to `sub`, bound to `*loc`: --unlock-key-file
// PATH, --passphrase-fd N (the two exclude each other) and --store PATH.
void AddStoreOptions(CLI::App* sub, store::StoreLocation* loc);

// Fills in the store path and the unlock key file the flags left empty from the
// configuration (--config, $LATCHKEY_CONFIG, /etc/latchkey/latchkey.yaml): its `store:`
// section, else <state_dir>/store/secrets.db and unlock.key -- the store the bundled `store`
// provider reads. Fails with the configuration's error when it does not load.
Status ResolveStoreLocation(const GlobalOptions& global, store::StoreLocation* loc);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_STORE_SETUP_H_
