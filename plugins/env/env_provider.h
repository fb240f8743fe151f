// The bundled "env" provider (latchkey-env.so): serves an environment variable; the reference
// is the variable's name. Values come from a snapshot of an environment taken when the
// instance is created, never from a live getenv in the broker:
//   - config key `environment` (STRING, SECRET): the caller's environment in the raw
//     /proc/<pid>/environ format, NAME=VALUE entries separated by NUL bytes (a trailing NUL is
//     optional). Values may contain any byte but NUL, newlines included.
//   - without it, the process environment (`environ`) at create time, which in the CLI is the
//     caller's environment.
// The snapshot lives in one block of the instance's host secure memory; names are indexed
// into it. An entry without '=' is refused at create. When a name occurs twice the first entry
// wins (as getenv does). See docs/providers.md.
//
// Thread-safety: the snapshot is immutable after create; Fetch and List run concurrently.
#ifndef LATCHKEY_PLUGINS_ENV_ENV_PROVIDER_H_
#define LATCHKEY_PLUGINS_ENV_ENV_PROVIDER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "latchkey/provider.hpp"

namespace latchkey::env_provider {

inline constexpr size_t kMaxSecretSize = 512000;

class EnvProvider {
 public:
  static constexpr const char* kName = "env";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr lk_config_key kConfig[] = {
      {"environment", LK_CONFIG_STRING, LK_CONFIG_SECRET,
       "the environment to serve, as NAME=VALUE entries separated by NUL bytes (the "
       "/proc/<pid>/environ format); default: the process environment at create time",
       nullptr},
  };

  static Result<std::unique_ptr<EnvProvider>> Create(const sdk::Config& config, sdk::Host& host);
  Result<sdk::Response> Fetch(const sdk::Request& req);
  // Emits every variable name in the snapshot (names only, never values).
  Status List(const sdk::ListSink& sink);

 private:
  struct Span {
    size_t offset;
    size_t len;
  };
  explicit EnvProvider(sdk::SecretBytes snapshot) : snapshot_(std::move(snapshot)) {}
  // Indexes snapshot_; INVALID_ARGUMENT for an entry without '=' (the entry is not echoed).
  Status Index();

  sdk::SecretBytes snapshot_;                        // instance context: lives until destroy
  std::unordered_map<std::string_view, Span> vars_;  // name (view into snapshot_) -> value
};

}  // namespace latchkey::env_provider

#endif  // LATCHKEY_PLUGINS_ENV_ENV_PROVIDER_H_
