#include "store/store_cli.h"

#include <ctime>

#include "store/secret_io.h"

namespace latchkey::store {

Result<std::unique_ptr<Store>> OpenStoreForCommand(const StoreLocation& loc) {
  if (loc.passphrase_fd >= 0) {
    LK_ASSIGN_OR_RETURN(SecretBuffer pass, ReadPassphraseFd(loc.passphrase_fd));
    return Store::Open(loc.store_path, KeySource::Passphrase(std::move(pass)));
  }
  LK_ASSIGN_OR_RETURN(KeyKind kind, Store::ProbeKeyKind(loc.store_path));
  if (kind == KeyKind::kPassphrase) {
    LK_ASSIGN_OR_RETURN(SecretBuffer pass,
                        PromptPassphrase("Passphrase for store " + loc.store_path + ": ", false));
    return Store::Open(loc.store_path, KeySource::Passphrase(std::move(pass)));
  }
  return Store::Open(loc.store_path, KeySource::UnlockKeyFile(loc.unlock_key_file));
}

Result<KeySource> NewKeySource(int fd, bool prompt, const std::string& path) {
  if (fd >= 0) {
    LK_ASSIGN_OR_RETURN(SecretBuffer pass, ReadPassphraseFd(fd));
    return KeySource::Passphrase(std::move(pass));
  }
  if (prompt) {
    LK_ASSIGN_OR_RETURN(SecretBuffer pass, PromptPassphrase("New passphrase: ", true));
    return KeySource::Passphrase(std::move(pass));
  }
  return KeySource::UnlockKeyFile(path);
}

std::string FormatTime(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace latchkey::store
