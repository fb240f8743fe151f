// Checks on the plugin file and its entry point: exports, loading, handshake, the table.
#include <cctype>
#include <cstring>
#include <set>
#include <thread>

#include "check_support.h"
#include "elf_exports.h"

namespace latchkey::conformance {

CheckOutput CheckExports(const CheckContext& c) {
  Result<std::vector<std::string>> syms = ExportedSymbols(c.options->plugin_path);
  if (!syms.ok()) return Fail(syms.status().message());
  std::vector<std::string> extra;
  bool entry = false;
  for (const std::string& s : *syms) {
    if (s == LK_PROVIDER_ENTRY_SYMBOL) {
      entry = true;
    } else {
      extra.push_back(s);
    }
  }
  if (!entry) return Fail(std::string(LK_PROVIDER_ENTRY_SYMBOL) + " is not exported");
  if (!extra.empty()) {
    return Fail("exports " + std::to_string(extra.size()) + " symbol(s) besides " +
                LK_PROVIDER_ENTRY_SYMBOL + ": " + JoinList(extra) +
                " (build with latchkey_add_provider: hidden visibility and a version script)");
  }
  return Pass();
}

CheckOutput CheckLoad(const CheckContext& c) {
  // The runner loaded the plugin before calling this; reaching here means it loaded.
  const lk_provider_api& t = c.plugin->table();
  return Pass(c.plugin->name() + " " + (t.version != nullptr ? t.version : "?") + ", ABI " +
              std::to_string(t.header.abi_major) + "." + std::to_string(t.header.abi_minor));
}

CheckOutput CheckHandshake(const CheckContext& c) {
  lk_provider_entry_fn entry = c.plugin->entry();
  const lk_provider_api* first = c.plugin->raw();
  struct Version {
    uint16_t major, minor;
  };
  for (Version v : {Version{LK_ABI_MAJOR, 0}, Version{LK_ABI_MAJOR, LK_ABI_MINOR + 1},
                    Version{LK_ABI_MAJOR, 0xFFFF}}) {
    c.Step("calling lk_provider_entry(" + std::to_string(v.major) + ", " + std::to_string(v.minor) +
           ")");
    const lk_provider_api* t = nullptr;
    int32_t rc = entry(v.major, v.minor, &t);
    std::string call =
        "lk_provider_entry(" + std::to_string(v.major) + ", " + std::to_string(v.minor) + ")";
    if (rc != LK_OK) {
      return Fail(call + " returned " + std::to_string(rc) +
                  "; a plugin must accept every minor of its major (older and newer hosts)");
    }
    if (t != first) {
      return Fail(call +
                  " returned a different table than the first call; the entry point "
                  "must be idempotent and return one static table");
    }
  }
  for (uint16_t major : {uint16_t{0}, uint16_t{LK_ABI_MAJOR + 1}, uint16_t{0xFFFF}}) {
    std::string call = "lk_provider_entry(" + std::to_string(major) + ", 0)";
    c.Step("calling " + call);
    const lk_provider_api* sentinel = reinterpret_cast<const lk_provider_api*>(0x1);
    const lk_provider_api* t = sentinel;
    int32_t rc = entry(major, 0, &t);
    if (rc == LK_OK) {
      if (t != nullptr && t != sentinel && t->header.abi_major != major) continue;  // host refuses
      return Fail(call + " returned LK_OK " +
                  (t == nullptr || t == sentinel
                       ? std::string("without a table")
                       : "with an ABI " + std::to_string(major) + " table") +
                  "; a plugin must return LK_FAILED_PRECONDITION for a host major it cannot "
                  "serve");
    }
    if (rc != LK_FAILED_PRECONDITION) {
      return Fail(call + " returned " + std::to_string(rc) + "; expected LK_FAILED_PRECONDITION");
    }
    if (t == sentinel) {
      return Fail(call +
                  " did not write *out; the entry must always publish its table so the "
                  "host can report the plugin's ABI version");
    }
  }
  c.Step("calling lk_provider_entry from 4 threads at once");
  const lk_provider_api* seen[4] = {};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 100; ++k) entry(LK_ABI_MAJOR, LK_ABI_MINOR, &seen[i]);
    });
  }
  for (auto& t : threads) t.join();
  for (const lk_provider_api* s : seen) {
    if (s != first) return Fail("concurrent lk_provider_entry calls returned different tables");
  }
  return Pass();
}

namespace {

bool ValidName(const char* s) {
  if (s == nullptr || *s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (!(std::islower(static_cast<unsigned char>(*s)) ||
          std::isdigit(static_cast<unsigned char>(*s)) || *s == '-')) {
      return false;
    }
  }
  return true;
}

bool ValidKey(const char* s) {
  if (s == nullptr || *s == '\0') return false;
  for (; *s != '\0'; ++s) {
    unsigned char ch = static_cast<unsigned char>(*s);
    if (!(std::islower(ch) || std::isdigit(ch) || ch == '-' || ch == '_' || ch == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

CheckOutput CheckProviderTable(const CheckContext& c) {
  const lk_provider_api* raw = c.plugin->raw();
  const lk_provider_api& t = c.plugin->table();
  std::vector<std::string> problems;
  if (raw->header.abi_major != LK_ABI_MAJOR) problems.push_back("header.abi_major is not 1");
  if (raw->header.struct_size < kMinProviderApiSize) {
    problems.push_back("header.struct_size " + std::to_string(raw->header.struct_size) +
                       " is below the v1 minimum " + std::to_string(kMinProviderApiSize));
  }
  if (!ValidName(t.name)) {
    problems.push_back(std::string("name \"") + (t.name != nullptr ? t.name : "(NULL)") +
                       "\" must be non-empty and use only [a-z0-9-]");
  }
  bool printable = t.version != nullptr && *t.version != '\0';
  for (const char* v = t.version; printable && *v != '\0'; ++v) {
    if (*v < 0x21 || *v > 0x7e) printable = false;
  }
  if (!printable) problems.push_back("version must be non-empty printable ASCII without spaces");
  if (t.threading != LK_THREADING_CONCURRENT && t.threading != LK_THREADING_SERIALIZED) {
    problems.push_back("threading " + std::to_string(t.threading) +
                       " is neither LK_THREADING_CONCURRENT nor LK_THREADING_SERIALIZED");
  }
  bool list = t.list != nullptr, health = t.health != nullptr;
  if (((t.capabilities & LK_CAP_LIST) != 0) != list) {
    problems.push_back(std::string("LK_CAP_LIST is ") +
                       ((t.capabilities & LK_CAP_LIST) ? "set" : "clear") + " but list is " +
                       (list ? "present" : "NULL"));
  }
  if (((t.capabilities & LK_CAP_HEALTH) != 0) != health) {
    problems.push_back(std::string("LK_CAP_HEALTH is ") +
                       ((t.capabilities & LK_CAP_HEALTH) ? "set" : "clear") + " but health is " +
                       (health ? "present" : "NULL"));
  }
  uint64_t known = LK_CAP_LIST | LK_CAP_HEALTH | LK_CAP_VERSIONS | LK_CAP_DYNAMIC;
  if (raw->header.abi_minor <= LK_ABI_MINOR && (t.capabilities & ~known) != 0) {
    problems.push_back("capabilities has bits no ABI 1." + std::to_string(raw->header.abi_minor) +
                       " defines");
  }
  if (t.config_key_count > 0 && t.config_keys == nullptr) {
    problems.push_back("config_key_count is " + std::to_string(t.config_key_count) +
                       " but config_keys is NULL");
  } else {
    std::set<std::string> seen;
    for (size_t i = 0; i < t.config_key_count; ++i) {
      const lk_config_key& k = t.config_keys[i];
      std::string where = "config key " + std::to_string(i);
      if (!ValidKey(k.key)) {
        problems.push_back(where + " has an empty key or one outside [a-z0-9._-]");
        continue;
      }
      where = std::string("config key \"") + k.key + "\"";
      if (!seen.insert(k.key).second) problems.push_back(where + " is described twice");
      if (k.type < LK_CONFIG_STRING || k.type > LK_CONFIG_DURATION) {
        problems.push_back(where + " has unknown type " + std::to_string(k.type));
      }
      if ((k.flags & ~(LK_CONFIG_REQUIRED | LK_CONFIG_SECRET)) != 0) {
        problems.push_back(where + " has unknown flag bits");
      }
      if (k.help == nullptr || *k.help == '\0') problems.push_back(where + " has no help text");
    }
  }
  if (!problems.empty()) return Fail(JoinList(problems, 20));
  return Pass();
}

}  // namespace latchkey::conformance
