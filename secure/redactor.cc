#include "secure/redactor.h"

#include <algorithm>
#include <mutex>
#include <span>
#include <utility>

namespace latchkey {
namespace {

// The registry's automaton is rebuilt whenever its values change, so its dense table is kept
// smaller than the leak scanner's: past this size (a few dozen values of 40 bytes with all their
// forms) the sparse trie is used, which builds in time linear in the pattern bytes.
constexpr size_t kRegistryDenseBudget = size_t{4} << 20;

}  // namespace

SecretRegistry& SecretRegistry::Global() {
  static auto* registry = new SecretRegistry();  // never destroyed: loggers outlive statics
  return *registry;
}

Result<uint64_t> SecretRegistry::Add(std::shared_ptr<const SecretBuffer> value) {
  Entry entry;
  if (value && !value->empty()) {
    LK_ASSIGN_OR_RETURN(entry.patterns, SecretPatterns(value->bytes()));
  }
  entry.raw = std::move(value);
  const bool searchable = !entry.patterns.empty();
  std::unique_lock lock(mu_);
  const uint64_t handle = next_handle_++;
  entries_.emplace(handle, std::move(entry));
  if (searchable) stale_ = added_ = true;
  return handle;
}

void SecretRegistry::Remove(uint64_t handle) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(handle);
  if (it == entries_.end()) return;
  if (!it->second.patterns.empty()) stale_ = true;
  entries_.erase(it);
}

size_t SecretRegistry::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

Result<std::shared_ptr<const SecretMatcher>> SecretRegistry::Current() const {
  {
    std::shared_lock lock(mu_);
    if (!stale_) return matcher_;
  }
  std::unique_lock lock(mu_);
  if (!stale_) return matcher_;  // another caller rebuilt it meanwhile
  std::vector<SecretMatcher::Input> inputs;
  for (const auto& [handle, entry] : entries_) {
    for (const SecretPattern& p : entry.patterns) inputs.push_back({&p, 0});
  }
  if (inputs.empty()) {
    matcher_ = nullptr;
  } else {
    auto built = build_ ? build_(inputs, kRegistryDenseBudget)
                        : SecretMatcher::Build(inputs, kRegistryDenseBudget);
    if (!built.ok()) {
      if (added_) return built.status();
      return matcher_;  // only removals since: the old automaton masks a superset
    }
    matcher_ = std::make_shared<const SecretMatcher>(std::move(*built));
  }
  stale_ = added_ = false;
  return matcher_;
}

std::string SecretRegistry::Redact(std::string_view text) const {
  auto matcher = Current();
  if (!matcher.ok()) return std::string(kRedactionMask);
  if (*matcher == nullptr) return std::string(text);
  return (*matcher)->Mask(text);
}

bool SecretRegistry::Contains(std::string_view text) const {
  auto matcher = Current();
  if (!matcher.ok()) return true;
  return *matcher != nullptr && (*matcher)->Contains(text);
}

size_t SecretRegistry::PartialMatchLength(std::string_view text) const {
  std::shared_lock lock(mu_);
  size_t longest = 0;
  for (const auto& [handle, entry] : entries_) {
    for (const SecretPattern& p : entry.patterns) {
      std::span<const uint8_t> bytes = p.bytes.bytes();
      std::string_view form(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      // Suffixes of `text` longer than `longest` that are proper prefixes of `form`.
      for (size_t n = std::min(text.size(), form.size() - 1); n > longest; --n) {
        if (text.substr(text.size() - n) == form.substr(0, n)) {
          longest = n;
          break;
        }
      }
    }
  }
  return longest;
}

}  // namespace latchkey
