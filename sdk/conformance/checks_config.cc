// Checks of create and of the plugin's own config validation.
#include "check_support.h"

namespace latchkey::conformance {

namespace {

// Creates with `config` expecting INVALID_ARGUMENT naming `key`; destroys what it must not have
// created. Returns an empty string when the plugin refused correctly, else the failure.
std::string ExpectRefused(const CheckContext& c, const ConfigList& config, const std::string& key,
                          const std::string& what) {
  lk_host_ctx* ctx = c.host->NewInstanceContext();
  lk_instance* inst = nullptr;
  c.Step("calling create with " + what);
  CallStatus s = c.plugin->Create(c.host->api(), ctx, config, &inst);
  if (s.ok()) {
    c.Step("destroying the instance created with " + what);
    c.plugin->table().destroy(inst);
    return "create accepted " + what + "; the plugin must refuse it with INVALID_ARGUMENT " +
           "naming the key";
  }
  if (!s.problem.empty()) return "create with " + what + ": " + s.problem;
  if (s.code != LK_INVALID_ARGUMENT) {
    return "create with " + what + " returned " + s.Describe() + "; expected INVALID_ARGUMENT";
  }
  if (s.message.find(key) == std::string::npos) {
    return "create with " + what + " failed with a message that does not name the key \"" + key +
           "\": " + s.message;
  }
  size_t leaked = c.host->ReleaseContext(ctx);
  if (leaked > 0) {
    return "create with " + what + " failed but left " + std::to_string(leaked) +
           " secret block(s) allocated under the instance context";
  }
  return "";
}

}  // namespace

CheckOutput CheckCreate(const CheckContext& c) {
  lk_host_ctx* ctx = c.host->NewInstanceContext();
  lk_instance* inst = nullptr;
  c.Step("calling create with the given config");
  CallStatus s = c.plugin->Create(c.host->api(), ctx, c.options->config, &inst);
  if (!s.problem.empty()) return Fail(s.problem);
  if (!s.ok()) {
    return Fail("create with the given config failed: " + s.Describe() +
                " (pass the keys it needs with --config KEY=VALUE)");
  }
  c.Step("calling destroy");
  c.plugin->table().destroy(inst);
  return Pass();
}

CheckOutput CheckConfigUnknownKey(const CheckContext& c) {
  const std::string key = "lk-conformance-unknown-key";
  std::string why = ExpectRefused(c, WithKey(c.options->config, key, "1"), key,
                                  "the unknown config key \"" + key + "\"");
  return why.empty() ? Pass() : Fail(why);
}

CheckOutput CheckConfigMissingKey(const CheckContext& c) {
  const lk_provider_api& t = c.plugin->table();
  int tested = 0;
  for (size_t i = 0; i < t.config_key_count; ++i) {
    const lk_config_key& k = t.config_keys[i];
    if ((k.flags & LK_CONFIG_REQUIRED) == 0 || k.default_value != nullptr || k.key == nullptr) {
      continue;
    }
    ++tested;
    std::string why = ExpectRefused(c, WithoutKey(c.options->config, k.key), k.key,
                                    std::string("the required key \"") + k.key + "\" missing");
    if (!why.empty()) return Fail(why);
  }
  if (tested == 0) return Skip("the plugin declares no required config key without a default");
  return Pass();
}

CheckOutput CheckConfigWrongType(const CheckContext& c) {
  const lk_provider_api& t = c.plugin->table();
  int tested = 0;
  for (size_t i = 0; i < t.config_key_count; ++i) {
    const lk_config_key& k = t.config_keys[i];
    if (k.key == nullptr) continue;
    const char* bad = nullptr;
    switch (k.type) {
      case LK_CONFIG_INT:
        bad = "lk-conformance-not-an-integer";
        break;
      case LK_CONFIG_BOOL:
        bad = "lk-conformance-not-a-bool";
        break;
      case LK_CONFIG_DURATION:
        bad = "lk-conformance-not-a-duration";
        break;
      case LK_CONFIG_PATH:
        bad = "";
        break;
      default:
        continue;
    }
    ++tested;
    std::string why =
        ExpectRefused(c, WithKey(c.options->config, k.key, bad), k.key,
                      std::string("the mistyped value \"") + bad + "\" for key \"" + k.key + "\"");
    if (!why.empty()) return Fail(why);
  }
  if (tested == 0) return Skip("the plugin declares no INT, BOOL, DURATION or PATH config key");
  return Pass();
}

}  // namespace latchkey::conformance
