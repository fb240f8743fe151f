// The `store` provider plugin (latchkey-store.so): serves secrets from an encrypted store
// (store.h) to the broker. References are "name" (the latest version) or "name@N"; the
// response names the version served. Data is decrypted straight into host secure memory.
//
// Config: path (the store database, required) and exactly one of unlock_key_file (PATH) or
// passphrase_fd (INT, read once at create).
#include <memory>
#include <string>

#include "latchkey/provider.hpp"
#include "store/name.h"
#include "store/secret_io.h"
#include "store/store.h"

namespace latchkey::store {

class StoreProvider {
 public:
  static constexpr const char* kName = "store";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr lk_config_key kConfig[] = {
      {"path", LK_CONFIG_PATH, LK_CONFIG_REQUIRED, "the store database (secrets.db)", nullptr},
      {"unlock_key_file", LK_CONFIG_PATH, 0,
       "the store's unlock key file (LKSKEY-1-..., mode 0600)", nullptr},
      {"passphrase_fd", LK_CONFIG_INT, 0,
       "a file descriptor to read the store's passphrase from, once, at start", nullptr},
  };
  static constexpr uint64_t kCapabilities = LK_CAP_VERSIONS;
  static constexpr uint32_t kThreading = LK_THREADING_CONCURRENT;

  static Result<std::unique_ptr<StoreProvider>> Create(const sdk::Config& config, sdk::Host& host) {
    bool has_key = config.Has("unlock_key_file"), has_fd = config.Has("passphrase_fd");
    if (has_key == has_fd) {
      return InvalidArgumentError(
          "provider store: set exactly one of unlock_key_file and passphrase_fd");
    }
    std::string path = config.GetPath("path");
    std::unique_ptr<Store> store;
    if (has_key) {
      LK_ASSIGN_OR_RETURN(
          store, Store::Open(path, KeySource::UnlockKeyFile(config.GetPath("unlock_key_file"))));
    } else {
      int64_t fd = config.GetInt("passphrase_fd", -1);
      if (fd < 0 || fd > 1 << 20) {
        return InvalidArgumentError("provider store: passphrase_fd " + std::to_string(fd) +
                                    " is not a file descriptor");
      }
      LK_ASSIGN_OR_RETURN(SecretBuffer pass, ReadPassphraseFd(static_cast<int>(fd)));
      LK_ASSIGN_OR_RETURN(store, Store::Open(path, KeySource::Passphrase(std::move(pass))));
    }
    host.Log(LK_LOG_INFO, "provider store: opened store " + path);
    return std::unique_ptr<StoreProvider>(new StoreProvider(std::move(store)));
  }

  Result<sdk::Response> Fetch(const sdk::Request& req) {
    LK_ASSIGN_OR_RETURN(Reference ref, ParseReference(req.ref));
    sdk::SecretBytes value;
    Status alloc_status;
    auto alloc = [&](size_t n) -> uint8_t* {
      auto block = req.host.AllocSecret(n);
      if (!block.ok()) {
        alloc_status = block.status();
        return nullptr;
      }
      value = std::move(block).value();
      return value.data();
    };
    uint8_t* data = nullptr;
    size_t len = 0;
    auto version = store_->ReadInto(ref, alloc, &data, &len);
    if (!alloc_status.ok()) return alloc_status;
    if (!version.ok()) return version.status();  // `value` is wiped and freed here
    sdk::Response out;
    out.value = std::move(value);
    out.version = std::to_string(*version);
    return out;
  }

  Status List(const sdk::ListSink& sink) {
    LK_ASSIGN_OR_RETURN(std::vector<SecretInfo> all, store_->List({}));
    for (const SecretInfo& info : all) sink.Emit(info.name);
    return Status::OK();
  }

  Status Health() { return store_->CheckHealth(); }

 private:
  explicit StoreProvider(std::unique_ptr<Store> store) : store_(std::move(store)) {}
  std::unique_ptr<Store> store_;
};

}  // namespace latchkey::store

LATCHKEY_DEFINE_PROVIDER(latchkey::store::StoreProvider)
