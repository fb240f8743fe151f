// Host-side handle on one provider plugin, as the conformance suite loads and calls it.
// Loading follows the host rules: dlopen(RTLD_NOW | RTLD_LOCAL), never dlclose, negotiate the
// ABI (same major; the plugin table is read only within its struct_size).
//
// Thread-safety: a loaded Plugin is immutable; calls are as thread-safe as the plugin claims.
#ifndef LATCHKEY_SDK_CONFORMANCE_PLUGIN_H_
#define LATCHKEY_SDK_CONFORMANCE_PLUGIN_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "latchkey/provider.h"
#include "latchkey/status.h"
#include "test_host.h"

namespace latchkey::conformance {

using ConfigList = std::vector<std::pair<std::string, std::string>>;

// The smallest plugin table a v1 host accepts: every required member (through fetch).
inline constexpr size_t kMinProviderApiSize = offsetof(lk_provider_api, fetch) + sizeof(void*);

// The outcome of one plugin call that can fail.
struct CallStatus {
  int32_t code = LK_OK;
  std::string message;  // up to the first NUL
  std::string problem;  // contract violations seen in the error (empty when none)
  bool ok() const { return code == LK_OK; }
  std::string Describe() const;  // "NOT_FOUND: provider file: ..."
};

class Plugin {
 public:
  // dlopens `path` and negotiates ABI LK_ABI_MAJOR.LK_ABI_MINOR. Errors name the file and the
  // cause ("... was built for ABI 2.0; this host supports 1.0 to 1.0").
  static Result<Plugin> Load(const std::string& path);

  const std::string& path() const { return path_; }
  lk_provider_entry_fn entry() const { return entry_; }
  // The plugin's table as it published it (read only within raw()->header.struct_size).
  const lk_provider_api* raw() const { return raw_; }
  // A zero-padded copy: members past the plugin's struct_size read as 0/NULL.
  const lk_provider_api& table() const { return table_; }
  std::string name() const { return table_.name != nullptr ? table_.name : "?"; }

  // Calls create with `config`; on failure *out is checked to stay NULL.
  CallStatus Create(const lk_host_api* host, lk_host_ctx* ctx, const ConfigList& config,
                    lk_instance** out) const;
  // Calls fetch under a new call context and ends the call on the host. `end` receives what
  // happened to the data.
  struct FetchOptions {
    int64_t deadline_unix_ms = 0;
    int32_t forced_deadline_code = LK_OK;
    const std::vector<uint8_t>* expected = nullptr;
    // Caller-prepared response/error structs (e.g. truncated ones at a guard page); the
    // defaults are full-size locals.
    lk_secret* out = nullptr;
    lk_error* err = nullptr;
  };
  CallStatus Fetch(TestHost& host, lk_instance* instance, const std::string& ref,
                   const FetchOptions& options, TestHost::CallEnd* end) const;
  // The optional members through the host wrapper: LK_UNIMPLEMENTED when absent.
  CallStatus List(lk_instance* instance, std::vector<std::string>* refs) const;
  CallStatus Health(lk_instance* instance) const;

 private:
  // LK_UNIMPLEMENTED "provider <name> does not implement <member>" for an absent optional member.
  CallStatus Unimplemented(const std::string& member) const;

  std::string path_;
  lk_provider_entry_fn entry_ = nullptr;
  const lk_provider_api* raw_ = nullptr;
  lk_provider_api table_{};
};

// Inspects a filled lk_error after a call returned `code`: NUL-terminated within its
// struct_size, non-empty, code in range. Returns the CallStatus with `problem` set on violations.
CallStatus ReadError(int32_t code, const lk_error& err);
// A zeroed lk_error with struct_size set and the message filled with 'x' bytes (to detect a
// missing terminator).
void PrepareError(lk_error* err);
// Builds lk_kv entries pointing into `config`.
std::vector<lk_kv> ToKv(const ConfigList& config);

}  // namespace latchkey::conformance

#endif  // LATCHKEY_SDK_CONFORMANCE_PLUGIN_H_
