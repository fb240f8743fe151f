#include "broker/plugin_config.h"

#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <string>

namespace latchkey {
namespace {

const lk_config_key kKeys[] = {
    {"base_dir", LK_CONFIG_PATH, 0, "a directory", nullptr},
    {"max_size", LK_CONFIG_INT, 0, "a size", "512000"},
    {"verbose", LK_CONFIG_BOOL, 0, "a switch", nullptr},
    {"timeout", LK_CONFIG_DURATION, 0, "a duration", nullptr},
    {"token", LK_CONFIG_STRING, LK_CONFIG_SECRET | LK_CONFIG_REQUIRED, "a secret", nullptr},
    {"region", LK_CONFIG_STRING, LK_CONFIG_REQUIRED, "a region", nullptr},
};
constexpr size_t kCount = std::size(kKeys);

std::vector<ConfigValue> Base() {
  return {ConfigValue::Text("token", "s3cr3t-value"), ConfigValue::Text("region", "eu")};
}

std::string Error(std::vector<ConfigValue> config) {
  auto r = ValidateConfig("demo", kKeys, kCount, config);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "(valid)";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::string ValueOf(const ValidatedConfig& c, const std::string& key) {
  for (const lk_kv& kv : c.kvs()) {
    if (key == kv.key) {
      EXPECT_EQ(kv.value[kv.value_len], '\0') << key;
      return std::string(kv.value, kv.value_len);
    }
  }
  return "(absent)";
}

TEST(ValidateConfig, AcceptsValidConfigAndFillsDefaults) {
  auto config = Base();
  config.push_back(ConfigValue::Text("verbose", "true"));
  config.push_back(ConfigValue::Text("timeout", "1500"));
  config.push_back(ConfigValue::Text("base_dir", "/srv/secrets"));
  auto r = ValidateConfig("demo", kKeys, kCount, config);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kvs().size(), 6u);
  EXPECT_EQ(ValueOf(*r, "max_size"), "512000");  // the default
  EXPECT_EQ(ValueOf(*r, "token"), "s3cr3t-value");
  EXPECT_EQ(ValueOf(*r, "verbose"), "true");
  EXPECT_EQ(r->keys().back(), "max_size");  // defaults come after configured keys
}

TEST(ValidateConfig, UnknownKeyWithSuggestion) {
  auto config = Base();
  config.push_back(ConfigValue::Text("base_dri", "/x"));
  EXPECT_EQ(Error(config),
            "provider demo: unknown config key \"base_dri\" (did you mean \"base_dir\"?); valid "
            "keys: base_dir, max_size, verbose, timeout, token, region");
}

TEST(ValidateConfig, UnknownKeyWithoutSuggestion) {
  auto config = Base();
  config.push_back(ConfigValue::Text("colour", "blue"));
  EXPECT_EQ(Error(config),
            "provider demo: unknown config key \"colour\"; valid keys: base_dir, max_size, "
            "verbose, timeout, token, region");
}

TEST(ValidateConfig, ProviderWithoutKeys) {
  auto r = ValidateConfig("bare", nullptr, 0, {ConfigValue::Text("x", "1")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "provider bare: unknown config key \"x\"; this provider takes no config keys");
}

TEST(ValidateConfig, MissingRequiredKey) {
  EXPECT_EQ(Error({ConfigValue::Text("token", "t")}),
            "provider demo: missing required config key \"region\"");
}

TEST(ValidateConfig, DuplicateKey) {
  auto config = Base();
  config.push_back(ConfigValue::Text("region", "us"));
  EXPECT_EQ(Error(config), "provider demo: config key \"region\" is given twice");
}

TEST(ValidateConfig, MistypedValues) {
  auto with = [](const char* key, const char* value) {
    auto config = Base();
    config.push_back(ConfigValue::Text(key, value));
    return config;
  };
  EXPECT_EQ(Error(with("max_size", "12k")),
            "provider demo: config key \"max_size\" must be an integer (got \"12k\")");
  EXPECT_EQ(Error(with("max_size", "99999999999999999999")),
            "provider demo: config key \"max_size\" must be an integer (got "
            "\"99999999999999999999\")");
  EXPECT_EQ(Error(with("verbose", "yes")),
            "provider demo: config key \"verbose\" must be true or false (got \"yes\")");
  EXPECT_EQ(Error(with("timeout", "-5")),
            "provider demo: config key \"timeout\" must be a duration in milliseconds (got "
            "\"-5\")");
  EXPECT_EQ(Error(with("base_dir", "")),
            "provider demo: config key \"base_dir\" must be a path (got \"\")");
}

TEST(ValidateConfig, ShownValuesAreEscaped) {
  auto config = Base();
  config.push_back(ConfigValue::Text("verbose", "on\n\"x\""));
  EXPECT_EQ(Error(config),
            "provider demo: config key \"verbose\" must be true or false (got "
            "\"on\\x0a\\x22x\\x22\")");
}

TEST(ValidateConfig, SecretValuesAreNeverEchoed) {
  const lk_config_key keys[] = {
      {"pin", LK_CONFIG_INT, LK_CONFIG_SECRET, "a secret number", nullptr},
  };
  auto r = ValidateConfig("demo", keys, 1, {ConfigValue::Text("pin", "hunter2")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "provider demo: config key \"pin\" must be an integer (value "
            "hidden)");
  // A value handed over as secret bytes is hidden even for a key not flagged SECRET.
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>("maybe"), 5});
  ASSERT_TRUE(buf.ok());
  auto config = Base();
  config.push_back(ConfigValue::Secret("verbose", std::move(*buf)));
  EXPECT_EQ(Error(config),
            "provider demo: config key \"verbose\" must be true or false (value hidden)");
}

TEST(ValidateConfig, SecretBytesKeepEmbeddedNulsAndAreTerminated) {
  const char raw[] = "A=1\0B=2\0";
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(raw), sizeof(raw) - 1});
  ASSERT_TRUE(buf.ok());
  auto config = Base();
  config[0] = ConfigValue::Secret("token", std::move(*buf));
  auto r = ValidateConfig("demo", kKeys, kCount, config);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ValueOf(*r, "token"), std::string(raw, sizeof(raw) - 1));
}

}  // namespace
}  // namespace latchkey
