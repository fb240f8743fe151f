// What the `latchkey secret` and `latchkey store` commands share: where the store is, how it
// is unlocked, and how times are shown. No flag parsing here (that is cli/), no printing.
//
// Thread-safety: OpenStoreForCommand may prompt on the terminal; call it from one thread.
#ifndef LATCHKEY_STORE_STORE_CLI_H_
#define LATCHKEY_STORE_STORE_CLI_H_

#include <cstdint>
#include <memory>
#include <string>

#include "latchkey/status.h"
#include "store/store.h"

namespace latchkey::store {

// The common options: --store, --unlock-key-file, --passphrase-fd.
struct StoreLocation {
  std::string store_path;       // empty: the configuration's store.path
  std::string unlock_key_file;  // empty: the configuration's store.unlock_key_file
  int passphrase_fd = -1;       // >= 0: read the passphrase from this descriptor
};

// Opens the store at loc.store_path: with the passphrase from loc.passphrase_fd when given;
// else, for a passphrase-locked store, with a passphrase prompted on the terminal; else with
// loc.unlock_key_file.
Result<std::unique_ptr<Store>> OpenStoreForCommand(const StoreLocation& loc);

// The key source for `store init` and `store rekey`: a passphrase from `fd` (>= 0), prompted
// (with confirmation) when `prompt`, or the unlock key file `path`.
Result<KeySource> NewKeySource(int fd, bool prompt, const std::string& path);

// "2026-05-01T12:00:00Z" (UTC, seconds).
std::string FormatTime(int64_t unix_ms);

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_STORE_CLI_H_
