// The host side of the plugin ABI: the lk_host_api upcall table and the contexts behind the
// opaque lk_host_ctx handles a plugin receives.
//
// A HostContext tracks every secure block a plugin allocates under it. There are two kinds:
//   - an instance context (one per ProviderInstance, passed to create), whose blocks the plugin
//     keeps until it frees them or the instance is destroyed;
//   - a call context (one per fetch, in lk_request.ctx), whose blocks are all wiped and freed
//     when the call returns, except the one the host takes as the result (TakeBlock).
// Blocks come from sodium_malloc: guard pages, mlock'ed, excluded from core dumps.
#ifndef LATCHKEY_BROKER_PROVIDER_HOST_H_
#define LATCHKEY_BROKER_PROVIDER_HOST_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "latchkey/provider.h"

namespace spdlog {
class logger;
}

namespace latchkey {

class HostContext {
 public:
  enum class Kind { kInstance, kCall };

  // `provider_name` names the spdlog logger ("plugin.<name>"). For a call context, `deadline`
  // (steady clock) and `cancelled` (may be nullptr; must outlive the context) feed
  // check_deadline.
  HostContext(Kind kind, const std::string& provider_name,
              std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt,
              const std::atomic<bool>* cancelled = nullptr);
  // Wipes and frees every block still tracked.
  ~HostContext();
  HostContext(const HostContext&) = delete;
  HostContext& operator=(const HostContext&) = delete;

  // The opaque handle given to the plugin, and back. FromHandle(nullptr) is nullptr.
  lk_host_ctx* handle() { return reinterpret_cast<lk_host_ctx*>(this); }
  static HostContext* FromHandle(lk_host_ctx* ctx) { return reinterpret_cast<HostContext*>(ctx); }

  // Zeroed secure memory of `len` bytes (a 0-byte request gets a 1-byte block), tracked here.
  // nullptr when secure memory is exhausted. Thread-safe.
  void* Alloc(size_t len);
  // Wipes and frees a block tracked here. A pointer not tracked here is left alone and logged
  // as a plugin bug. nullptr is a no-op. Thread-safe.
  void Free(void* ptr);
  // The size of the tracked block at `ptr`, or nullopt when `ptr` is not a block of this
  // context. Thread-safe.
  std::optional<size_t> BlockSize(const void* ptr) const;
  // Stops tracking `ptr` and hands it (sodium_malloc memory of BlockSize bytes) to the caller,
  // who must release it (e.g. SecretBuffer::Adopt). False when `ptr` is not tracked here.
  bool TakeBlock(void* ptr);
  // Wipes and frees every tracked block; returns how many there were. Thread-safe.
  size_t ReleaseAll();
  // Number of tracked blocks. Thread-safe.
  size_t block_count() const;

  // LK_OK, LK_CANCELLED when the cancellation flag is set, LK_DEADLINE_EXCEEDED once the
  // deadline passed. Thread-safe.
  int32_t CheckDeadline() const;
  // Forwards one plugin log line to the "plugin.<name>" logger. Thread-safe.
  void Log(int32_t level, const char* message);

  Kind kind() const { return kind_; }
  const std::string& provider_name() const { return provider_name_; }
  spdlog::logger& logger() const { return *logger_; }

 private:
  const Kind kind_;
  const std::string provider_name_;
  const std::optional<std::chrono::steady_clock::time_point> deadline_;
  const std::atomic<bool>* const cancelled_;
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mu_;
  std::map<void*, size_t> blocks_;  // GUARDED_BY(mu_)
};

// The upcall table handed to every plugin. Static; valid for the life of the process.
const lk_host_api* HostApi();

// The spdlog logger for plugin `provider_name` ("plugin.<name>"), created on first use with
// the default logger's sinks and level. Thread-safe.
std::shared_ptr<spdlog::logger> PluginLogger(const std::string& provider_name);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROVIDER_HOST_H_
