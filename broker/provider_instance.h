// ProviderInstance: one configured instance of a provider plugin (lk_instance), and the only
// place the broker calls into plugin code after loading.
//
// It validates config before create, builds each lk_request, checks every response against
// the ABI rules (the returned block must be one the host allocated for that call, len within
// it, no data on error), turns plugin errors into Status values prefixed "provider <name>: "
// (once: a message that already starts with that prefix, as the SDK's do, keeps just one),
// and frees whatever a plugin forgot. A plugin that declares LK_THREADING_SERIALIZED gets a
// mutex per instance around every call; otherwise calls run concurrently.
#ifndef LATCHKEY_BROKER_PROVIDER_INSTANCE_H_
#define LATCHKEY_BROKER_PROVIDER_INSTANCE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/plugin_config.h"
#include "broker/plugin_loader.h"
#include "broker/provider_host.h"
#include "broker/secret_buffer.h"
#include "latchkey/status.h"

namespace latchkey {

// What a fetch is about. Strings are passed to the plugin as NUL-terminated copies.
struct FetchRequest {
  std::string ref;        // the provider reference: a path, a variable name, "name@3"
  std::string secret_id;  // the id the build asked for
  std::string session_id;
  std::string build_id;
  std::string stage;
  uint32_t step_index = 0;
  uint32_t dockerfile_line = 0;
  uint32_t requester_uid = 0;
  // When the caller stops waiting; passed to the plugin as wall-clock ms and via
  // check_deadline.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Set by the caller to cancel; may be nullptr; must outlive the Fetch call.
  const std::atomic<bool>* cancelled = nullptr;
};

struct FetchedSecret {
  SecretBuffer value;  // sealed
  bool no_cache = false;
  std::optional<int64_t> expires_unix_ms;
  std::string version;  // empty when the provider did not say
};

class ProviderInstance {
 public:
  // Validates `config` against the library's descriptors, then calls create. Errors:
  // INVALID_ARGUMENT for config (see plugin_config.h), otherwise the plugin's own code and
  // message, prefixed "provider <name>: ".
  static Result<std::unique_ptr<ProviderInstance>> Create(std::shared_ptr<PluginLibrary> library,
                                                          const std::vector<ConfigValue>& config);
  // Calls destroy, then wipes and frees every block still held under the instance context.
  // Must not run while a call is in flight.
  ~ProviderInstance();
  ProviderInstance(const ProviderInstance&) = delete;
  ProviderInstance& operator=(const ProviderInstance&) = delete;

  // Fetches one secret. Thread-safe (serialised per instance when the plugin asks for it).
  Result<FetchedSecret> Fetch(const FetchRequest& request);
  // Every reference the instance can serve. UNIMPLEMENTED when the plugin has no list.
  Result<std::vector<std::string>> List();
  // OK when the backend is usable. UNIMPLEMENTED when the plugin has no health.
  Status Health();

  const std::string& name() const { return library_->name(); }
  const PluginLibrary& library() const { return *library_; }
  // Blocks the plugin currently keeps under its instance context (for tests and diagnostics).
  size_t instance_block_count() const { return instance_ctx_->block_count(); }

 private:
  ProviderInstance(std::shared_ptr<PluginLibrary> library, std::unique_ptr<HostContext> ctx);
  // Locks the per-instance mutex when the plugin is SERIALIZED; otherwise returns an empty
  // lock.
  std::unique_lock<std::mutex> MaybeSerialize();
  // The Status for a failed plugin call: code mapped, message terminated and prefixed.
  Status PluginError(int32_t rc, lk_error& err, const char* operation) const;

  std::shared_ptr<PluginLibrary> library_;
  const lk_provider_api* api_;
  std::unique_ptr<HostContext> instance_ctx_;
  lk_instance* instance_ = nullptr;
  bool serialized_ = false;
  std::mutex call_mu_;
};

// Maps a code from across the boundary: 0..16 one-to-one, anything else INTERNAL.
StatusCode StatusCodeFromPlugin(int32_t code);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROVIDER_INSTANCE_H_
