#include "broker/plugin_config.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

#include "base/edit_distance.h"

namespace latchkey {

namespace {

// A value as shown in a message: printable, at most 64 characters.
std::string Shown(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > 64) out += "...";
  return out;
}

const char* TypeDescription(uint32_t type) {
  switch (type) {
    case LK_CONFIG_INT:
      return "an integer";
    case LK_CONFIG_BOOL:
      return "true or false";
    case LK_CONFIG_DURATION:
      return "a duration in milliseconds";
    case LK_CONFIG_PATH:
      return "a path";
    default:
      return "a string";
  }
}

bool ParsesAsInt64(std::string_view v, bool allow_negative) {
  if (v.empty()) return false;
  if (!allow_negative && v[0] == '-') return false;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && ptr == v.data() + v.size();
}

bool ValidForType(uint32_t type, std::string_view v) {
  switch (type) {
    case LK_CONFIG_INT:
      return ParsesAsInt64(v, /*allow_negative=*/true);
    case LK_CONFIG_BOOL:
      return v == "true" || v == "false";
    case LK_CONFIG_DURATION:
      return ParsesAsInt64(v, /*allow_negative=*/false);
    case LK_CONFIG_PATH:
      return !v.empty() && v.find('\0') == std::string_view::npos;
    default:
      return true;  // STRING, and types from a later minor: passed through as text
  }
}

std::string ValidKeys(const lk_config_key* descriptors, size_t count) {
  if (count == 0) return "this provider takes no config keys";
  std::string out = "valid keys: ";
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    out += descriptors[i].key;
  }
  return out;
}

}  // namespace

ConfigValue ConfigValue::Text(std::string key, std::string value) {
  ConfigValue v;
  v.key = std::move(key);
  v.text = std::move(value);
  return v;
}

ConfigValue ConfigValue::Secret(std::string key, SecretBuffer value) {
  ConfigValue v;
  v.key = std::move(key);
  value.Seal();
  v.secret = std::make_shared<const SecretBuffer>(std::move(value));
  return v;
}

std::span<const uint8_t> ConfigValue::bytes() const {
  if (secret != nullptr) return secret->bytes();
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::vector<std::string> ValidatedConfig::keys() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e->key);
  return out;
}

void ValidatedConfig::Finish() {
  kvs_.clear();
  for (const auto& e : entries_) {
    lk_kv kv;
    kv.key = e->key.c_str();
    if (e->is_secret) {
      kv.value = reinterpret_cast<const char*>(e->secret.data());
      kv.value_len = e->secret.size() - 1;
    } else {
      kv.value = e->text.c_str();
      kv.value_len = e->text.size();
    }
    kvs_.push_back(kv);
  }
}

Result<ValidatedConfig> ValidateConfig(const std::string& provider_name,
                                       const lk_config_key* descriptors, size_t descriptor_count,
                                       const std::vector<ConfigValue>& config) {
  const std::string prefix = "provider " + provider_name + ": ";
  ValidatedConfig out;
  std::vector<bool> seen(descriptor_count, false);

  for (const ConfigValue& value : config) {
    size_t index = descriptor_count;
    for (size_t i = 0; i < descriptor_count; ++i) {
      if (value.key == descriptors[i].key) {
        index = i;
        break;
      }
    }
    if (index == descriptor_count) {
      std::string msg = prefix + "unknown config key \"" + Shown(value.key) + "\"";
      size_t best = 3;
      const char* suggestion = nullptr;
      for (size_t i = 0; i < descriptor_count; ++i) {
        size_t d = base::EditDistance(value.key, descriptors[i].key);
        if (d < best && d < std::strlen(descriptors[i].key)) {
          best = d;
          suggestion = descriptors[i].key;
        }
      }
      if (suggestion != nullptr) msg += std::string(" (did you mean \"") + suggestion + "\"?)";
      return InvalidArgumentError(msg + "; " + ValidKeys(descriptors, descriptor_count));
    }
    const lk_config_key& desc = descriptors[index];
    if (seen[index]) {
      return InvalidArgumentError(prefix + "config key \"" + value.key + "\" is given twice");
    }
    seen[index] = true;

    bool hidden = (desc.flags & LK_CONFIG_SECRET) != 0 || value.secret != nullptr;
    std::span<const uint8_t> bytes = value.bytes();
    std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!ValidForType(desc.type, view)) {
      return InvalidArgumentError(prefix + "config key \"" + value.key + "\" must be " +
                                  TypeDescription(desc.type) +
                                  (hidden ? " (value hidden)" : " (got \"" + Shown(view) + "\")"));
    }

    auto entry = std::make_unique<ValidatedConfig::Entry>();
    entry->key = value.key;
    if (hidden) {
      LK_ASSIGN_OR_RETURN(entry->secret, SecretBuffer::Allocate(bytes.size() + 1));
      if (!bytes.empty()) std::memcpy(entry->secret.mutable_data(), bytes.data(), bytes.size());
      entry->secret.Seal();
      entry->is_secret = true;
    } else {
      entry->text.assign(view);
    }
    out.entries_.push_back(std::move(entry));
  }

  for (size_t i = 0; i < descriptor_count; ++i) {
    if (seen[i]) continue;
    const lk_config_key& desc = descriptors[i];
    if (desc.default_value != nullptr) {
      auto entry = std::make_unique<ValidatedConfig::Entry>();
      entry->key = desc.key;
      entry->text = desc.default_value;
      out.entries_.push_back(std::move(entry));
    } else if ((desc.flags & LK_CONFIG_REQUIRED) != 0) {
      return InvalidArgumentError(prefix + "missing required config key \"" + desc.key + "\"");
    }
  }
  out.Finish();
  return out;
}

}  // namespace latchkey
