// Provider: one configured provider as a session calls it, whatever runs the plugin code.
//
// Two implementations: ProviderInstance (provider_instance.h, inline: the plugin is dlopen'ed
// into this process) and ProcessProvider (provider_process.h, process isolation: the plugin
// runs in a latchkey-provider-host child and is reached over a socketpair). A Session holds one
// Provider per configured provider it used; it never needs to know which kind it holds.
#ifndef LATCHKEY_BROKER_PROVIDER_H_
#define LATCHKEY_BROKER_PROVIDER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

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
  // check_deadline. When unset and `timeout` is set: the start of the call + `timeout`.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // The configured fetch timeout (`fetch_timeout`), named in the error when it passes.
  std::chrono::milliseconds timeout{0};
  // Set by the caller to cancel; may be nullptr; must outlive the Fetch call.
  const std::atomic<bool>* cancelled = nullptr;
  // An open file the reference names (a file source the broker opened, `ref` is its
  // /proc/self/fd/N path), or -1. Not owned. A process-isolated provider receives a duplicate
  // over its socket and reads it through its own /proc/self/fd path.
  int file_fd = -1;
  // Call the plugin on the calling thread even with a deadline (no worker thread, nothing is
  // abandoned): the deadline only feeds check_deadline. Used by latchkey-provider-host, whose
  // broker enforces the deadline by killing the host process.
  bool direct = false;
};

struct FetchedSecret {
  SecretBuffer value;  // sealed
  bool no_cache = false;
  std::optional<int64_t> expires_unix_ms;
  std::string version;  // empty when the provider did not say
};

// How the plugin code of a provider runs.
enum class Isolation { kInline, kProcess };
const char* IsolationName(Isolation isolation);  // "inline", "process"

class Provider {
 public:
  virtual ~Provider() = default;
  // Fetches one secret. Thread-safe. Errors: the plugin's own (prefixed "provider <name>: "),
  // and the deadline, cancellation and failure errors each implementation documents.
  virtual Result<FetchedSecret> Fetch(const FetchRequest& request) = 0;
  // Every reference the provider can serve. UNIMPLEMENTED when the plugin has no list.
  virtual Result<std::vector<std::string>> List() = 0;
  // OK when the backend is usable. UNIMPLEMENTED when the plugin has no health.
  virtual Status Health() = 0;
  // The provider's name as its messages use it.
  virtual const std::string& name() const = 0;
  virtual Isolation isolation() const = 0;
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROVIDER_H_
