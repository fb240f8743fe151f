// Provider configuration as the host hands it to a plugin's create: validated against the
// plugin's descriptor table (lk_config_key) before the plugin sees it.
//
// Rules (each failure has its own message; see plugin_config_test.cc):
//   - every key must be declared by the plugin; a close misspelling gets a suggestion, and the
//     message lists the valid keys;
//   - a key may appear once;
//   - REQUIRED keys must be present;
//   - INT is a decimal int64, BOOL is "true" or "false", DURATION is milliseconds (a decimal,
//     non-negative int64), PATH is non-empty; STRING is anything;
//   - values of SECRET-flagged keys are never echoed in a message and are held only in
//     SecretBuffers;
//   - absent keys with a default get it.
#ifndef LATCHKEY_BROKER_PLUGIN_CONFIG_H_
#define LATCHKEY_BROKER_PLUGIN_CONFIG_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "latchkey/provider.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

// One configured key/value. A value is either plain text or secret bytes (for example an
// environment snapshot); secret bytes are shared read-only, never copied into a std::string.
struct ConfigValue {
  std::string key;
  std::string text;                            // used when `secret` is null
  std::shared_ptr<const SecretBuffer> secret;  // when set, the value's bytes

  static ConfigValue Text(std::string key, std::string value);
  static ConfigValue Secret(std::string key, SecretBuffer value);
  std::span<const uint8_t> bytes() const;
};

// Validated config, ready to hand to create. Move-only: the values of SECRET-flagged keys
// live in SecretBuffers owned here. Every value is NUL-terminated for the plugin.
class ValidatedConfig {
 public:
  ValidatedConfig() = default;
  ValidatedConfig(ValidatedConfig&&) = default;
  ValidatedConfig& operator=(ValidatedConfig&&) = default;

  // The key/value array for create. Pointers stay valid while this object lives and is not
  // modified.
  const std::vector<lk_kv>& kvs() const { return kvs_; }
  // Keys in the order they are passed (configured ones first, then defaults).
  std::vector<std::string> keys() const;

 private:
  friend Result<ValidatedConfig> ValidateConfig(const std::string& provider_name,
                                                const lk_config_key* descriptors,
                                                size_t descriptor_count,
                                                const std::vector<ConfigValue>& config);
  struct Entry {
    std::string key;
    std::string text;     // non-secret values
    SecretBuffer secret;  // secret values, NUL-terminated (size = value length + 1)
    bool is_secret = false;
  };
  void Finish();

  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<lk_kv> kvs_;
};

// Validates `config` against the plugin's descriptors. Errors are INVALID_ARGUMENT with a
// message starting "provider <name>: ". Thread-safe (pure).
Result<ValidatedConfig> ValidateConfig(const std::string& provider_name,
                                       const lk_config_key* descriptors, size_t descriptor_count,
                                       const std::vector<ConfigValue>& config);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PLUGIN_CONFIG_H_
