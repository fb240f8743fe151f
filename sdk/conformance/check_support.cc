#include "check_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

namespace latchkey::conformance {

void CheckContext::Step(const std::string& what) const {
  if (report_fd < 0) return;
  std::string line = "S " + what + "\n";
  for (size_t i = 2; i + 1 < line.size(); ++i) {
    if (line[i] == '\n') line[i] = ' ';
  }
  ssize_t unused = write(report_fd, line.data(), line.size());
  (void)unused;
}

std::vector<std::string> CheckContext::FetchRefs() const {
  std::vector<std::string> refs;
  for (const ExpectedRef& r : options->refs) refs.push_back(r.ref);
  if (refs.empty()) refs.push_back(MissingRef());
  return refs;
}

std::string CheckContext::MissingRef() const {
  return "lk-conformance-no-such-ref-" + std::to_string(getpid());
}

void* GuardedBytes(size_t n) {
  long page = sysconf(_SC_PAGESIZE);
  size_t span = ((n + page - 1) / page + 1) * page;
  void* base = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) std::abort();
  char* guard = static_cast<char*>(base) + span - page;
  if (mprotect(guard, page, PROT_NONE) != 0) std::abort();
  return guard - n;
}

namespace {

std::string Hex(const std::string& s, const char* digits) {
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Base64 of `s` without padding, keeping only the characters fully determined by `s` (the
// tail character that mixes in following bytes is dropped).
std::string Base64Core(const std::string& s, const char* alphabet) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += alphabet[(v >> k) & 63];
  }
  size_t rest = s.size() - i;
  if (rest == 1) {
    out += alphabet[uint8_t(s[i]) >> 2];
  } else if (rest == 2) {
    uint32_t v = (uint8_t(s[i]) << 8) | uint8_t(s[i + 1]);
    out += alphabet[(v >> 10) & 63];
    out += alphabet[(v >> 4) & 63];
  }
  return out;
}

}  // namespace

std::vector<CanaryForm> CanaryForms(const std::vector<uint8_t>& secret) {
  std::string raw(secret.begin(), secret.end());
  std::vector<CanaryForm> forms = {
      {raw, "raw"}, {Hex(raw, "0123456789abcdef"), "hex"}, {Hex(raw, "0123456789ABCDEF"), "hex"}};
  static const char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static const char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // Embedded at offset 0, 1 or 2 of a 3-byte group, the secret's encoding starts cleanly after
  // skipping the bytes that share a group with what precedes it.
  for (const char* alphabet : {kStd, kUrl}) {
    for (size_t skip = 0; skip < 3 && skip + 3 <= raw.size(); ++skip) {
      std::string core = Base64Core(raw.substr(skip), alphabet);
      if (core.size() >= 4) forms.push_back({core, "base64"});
    }
  }
  return forms;
}

ConfigList WithKey(const ConfigList& config, const std::string& key, const std::string& value) {
  ConfigList out = WithoutKey(config, key);
  out.emplace_back(key, value);
  return out;
}

ConfigList WithoutKey(const ConfigList& config, const std::string& key) {
  ConfigList out;
  for (const auto& kv : config) {
    if (kv.first != key) out.push_back(kv);
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& items, size_t max) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
  return out;
}

}  // namespace latchkey::conformance
