// ProviderInstance: one configured instance of a provider plugin (lk_instance), and the only
// place the broker calls into plugin code after loading.
//
// It validates config before create, builds each lk_request, checks every response against
// the ABI rules (the returned block must be one the host allocated for that call, len within
// it, no data on error), turns plugin errors into Status values prefixed "provider <name>: "
// (once: a message that already starts with that prefix, as the SDK's do, keeps just one),
// and frees whatever a plugin forgot. A plugin that declares LK_THREADING_SERIALIZED gets a
// mutex per instance around every call; otherwise calls run concurrently.
//
// Hung providers (inline mode): a fetch with a deadline or a cancellation flag runs the plugin
// call on its own worker thread; the caller waits for the answer, the deadline and the flag.
// When the deadline passes or the flag is set first, the caller gets an error at once and the
// call is abandoned: the worker stays blocked in the plugin (a thread cannot be killed safely),
// and the instance is *poisoned*: it is never called again (later fetches fail at once), and
// its destroy is not called while the plugin may still be running inside it: when the
// abandoned call returns (if ever) and the ProviderInstance is gone, the shared Core destroys
// the instance and frees what the call and the instance held. A crash or a hang that ignores this
// still needs providers out of process.
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
#include "broker/provider.h"
#include "broker/provider_host.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

class ProviderInstance : public Provider {
 public:
  // Validates `config` against the library's descriptors, then calls create. Errors:
  // INVALID_ARGUMENT for config (see plugin_config.h), otherwise the plugin's own code and
  // message, prefixed "provider <name>: ".
  static Result<std::unique_ptr<ProviderInstance>> Create(std::shared_ptr<PluginLibrary> library,
                                                          const std::vector<ConfigValue>& config);
  // Calls destroy, then wipes and frees every block still held under the instance context.
  // Must not run while a call is in flight, except an abandoned one: a poisoned instance is
  // never destroyed (its state is released if and when the abandoned call returns).
  ~ProviderInstance() override;
  ProviderInstance(const ProviderInstance&) = delete;
  ProviderInstance& operator=(const ProviderInstance&) = delete;

  // Fetches one secret. Thread-safe (serialised per instance when the plugin asks for it).
  // With a deadline or a cancellation flag (see the file comment), besides the plugin's own
  // errors:
  //   DEADLINE_EXCEEDED  provider "<name>" did not answer within <timeout> while fetching "<id>"
  //                      (<timeout> as configured: 30s, 1m30s, 500ms), when the plugin has not
  //                      answered 500 ms past the deadline (its own deadline error wins before)
  //   CANCELLED          provider "<name>" was cancelled while fetching "<id>"
  //   UNAVAILABLE        provider "<name>" is not called again in this session: an earlier
  //                      fetch did not answer (the instance is poisoned)
  Result<FetchedSecret> Fetch(const FetchRequest& request) override;
  // Every reference the instance can serve. UNIMPLEMENTED when the plugin has no list.
  Result<std::vector<std::string>> List() override;
  // OK when the backend is usable. UNIMPLEMENTED when the plugin has no health.
  Status Health() override;

  const std::string& name() const override { return core_->library->name(); }
  Isolation isolation() const override { return Isolation::kInline; }
  const PluginLibrary& library() const { return *core_->library; }
  // Blocks the plugin currently keeps under its instance context (for tests and diagnostics).
  size_t instance_block_count() const { return core_->instance_ctx->block_count(); }
  // True once a fetch was abandoned (see the file comment).
  bool poisoned() const { return core_->poisoned.load(); }

 private:
  // What a plugin call touches. Shared with the worker thread of a fetch, so that an abandoned
  // call never reaches into a destroyed ProviderInstance.
  struct Core {
    std::shared_ptr<PluginLibrary> library;
    const lk_provider_api* api = nullptr;
    std::unique_ptr<HostContext> instance_ctx;
    lk_instance* instance = nullptr;
    bool serialized = false;
    std::mutex call_mu;
    std::atomic<bool> poisoned{false};
    // Locks call_mu when the plugin is SERIALIZED; otherwise returns an empty lock.
    std::unique_lock<std::mutex> MaybeSerialize();
    // The last owner is gone, so no call is inside the plugin any more: an instance that a
    // poisoned ProviderInstance left (its abandoned call has returned) is destroyed here.
    ~Core();
  };
  struct Call;  // one fetch's request, response and completion (provider_instance.cc)

  ProviderInstance(std::shared_ptr<PluginLibrary> library, std::unique_ptr<HostContext> ctx);
  std::unique_lock<std::mutex> MaybeSerialize() { return core_->MaybeSerialize(); }
  // The Status for a failed plugin call: code mapped, message terminated and prefixed.
  Status PluginError(int32_t rc, lk_error& err, const char* operation) const;
  // Turns a finished call's response into a FetchedSecret (the ABI checks).
  Result<FetchedSecret> Finish(Call& call) const;

  std::shared_ptr<Core> core_;
};

// Maps a code from across the boundary: 0..16 one-to-one, anything else INTERNAL.
StatusCode StatusCodeFromPlugin(int32_t code);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROVIDER_INSTANCE_H_
