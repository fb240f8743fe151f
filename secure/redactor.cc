#include "secure/redactor.h"

#include <mutex>
#include <utility>

namespace latchkey {
namespace {

// The registry's automaton is rebuilt on every Add and Remove, so its dense table is kept
// smaller than the leak scanner's: past this size (about 60 values of 40 bytes with all their
// forms) the sparse trie is used, which builds in time linear in the pattern bytes.
constexpr size_t kRegistryDenseBudget = size_t{4} << 20;

}  // namespace

SecretRegistry& SecretRegistry::Global() {
  static auto* registry = new SecretRegistry();  // never destroyed: loggers outlive statics
  return *registry;
}

Result<std::shared_ptr<const SecretMatcher>> SecretRegistry::BuildMatcher() const {
  std::vector<SecretMatcher::Input> inputs;
  for (const auto& [handle, entry] : entries_) {
    for (const SecretPattern& p : entry.patterns) inputs.push_back({&p, 0});
  }
  if (inputs.empty()) return std::shared_ptr<const SecretMatcher>();
  LK_ASSIGN_OR_RETURN(SecretMatcher m, SecretMatcher::Build(inputs, kRegistryDenseBudget));
  return std::make_shared<const SecretMatcher>(std::move(m));
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
  if (searchable) {
    auto built = BuildMatcher();
    if (!built.ok()) {
      entries_.erase(handle);
      return built.status();
    }
    matcher_ = std::move(*built);
  }
  return handle;
}

void SecretRegistry::Remove(uint64_t handle) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(handle);
  if (it == entries_.end()) return;
  const bool searchable = !it->second.patterns.empty();
  entries_.erase(it);
  if (!searchable) return;
  auto built = BuildMatcher();
  if (built.ok()) matcher_ = std::move(*built);
}

size_t SecretRegistry::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

std::string SecretRegistry::Redact(std::string_view text) const {
  std::shared_lock lock(mu_);
  if (matcher_ == nullptr) return std::string(text);
  return matcher_->Mask(text);
}

bool SecretRegistry::Contains(std::string_view text) const {
  std::shared_lock lock(mu_);
  return matcher_ != nullptr && matcher_->Contains(text);
}

}  // namespace latchkey
