#include "broker/redactor.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace latchkey {
namespace {

std::string_view View(const SecretBuffer& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Result<SecretBuffer> Base64(std::span<const uint8_t> value, int variant) {
  size_t cap = sodium_base64_encoded_len(value.size(), variant);
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(cap));
  sodium_bin2base64(reinterpret_cast<char*>(out.mutable_data()), cap, value.data(), value.size(),
                    variant);
  out.Truncate(std::strlen(reinterpret_cast<const char*>(out.data())));
  out.Seal();
  return out;
}

Result<SecretBuffer> Hex(std::span<const uint8_t> value, bool upper) {
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(value.size() * 2 + 1));
  char* p = reinterpret_cast<char*>(out.mutable_data());
  sodium_bin2hex(p, value.size() * 2 + 1, value.data(), value.size());
  if (upper) {
    for (size_t i = 0; i < value.size() * 2; ++i) {
      if (p[i] >= 'a' && p[i] <= 'f') p[i] = static_cast<char>(p[i] - 'a' + 'A');
    }
  }
  out.Truncate(value.size() * 2);
  out.Seal();
  return out;
}

}  // namespace

Result<std::vector<SecretBuffer>> EncodedForms(std::span<const uint8_t> value) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  std::vector<SecretBuffer> forms;
  if (value.empty()) return forms;
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    LK_ASSIGN_OR_RETURN(SecretBuffer b, Base64(value, variant));
    bool duplicate = std::any_of(forms.begin(), forms.end(),
                                 [&](const SecretBuffer& f) { return f.Equals(b.bytes()); });
    if (!duplicate) forms.push_back(std::move(b));
  }
  for (bool upper : {false, true}) {
    LK_ASSIGN_OR_RETURN(SecretBuffer h, Hex(value, upper));
    bool duplicate = std::any_of(forms.begin(), forms.end(),
                                 [&](const SecretBuffer& f) { return f.Equals(h.bytes()); });
    if (!duplicate) forms.push_back(std::move(h));
  }
  return forms;
}

SecretRegistry& SecretRegistry::Global() {
  static auto* registry = new SecretRegistry();  // never destroyed: loggers outlive statics
  return *registry;
}

Result<uint64_t> SecretRegistry::Add(std::shared_ptr<const SecretBuffer> value) {
  Entry entry;
  if (value && !value->empty()) {
    LK_ASSIGN_OR_RETURN(entry.encodings, EncodedForms(value->bytes()));
  }
  entry.raw = std::move(value);
  std::unique_lock lock(mu_);
  uint64_t handle = next_handle_++;
  entries_.emplace(handle, std::move(entry));
  return handle;
}

void SecretRegistry::Remove(uint64_t handle) {
  std::unique_lock lock(mu_);
  entries_.erase(handle);
}

size_t SecretRegistry::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

template <typename Fn>
void SecretRegistry::ForEachPattern(Fn&& fn) const {
  for (const auto& [handle, entry] : entries_) {
    if (entry.raw && !entry.raw->empty()) fn(View(*entry.raw));
    for (const auto& e : entry.encodings) fn(View(e));
  }
}

std::string SecretRegistry::Redact(std::string_view text) const {
  std::shared_lock lock(mu_);
  if (entries_.empty()) return std::string(text);
  // Mark every byte covered by any match, then emit one mask per covered run, so overlapping
  // matches (a value and its hex form sharing digits) never leave a fragment behind.
  std::vector<bool> covered(text.size(), false);
  bool any = false;
  ForEachPattern([&](std::string_view pattern) {
    size_t pos = 0;
    while ((pos = text.find(pattern, pos)) != std::string_view::npos) {
      std::fill(covered.begin() + pos, covered.begin() + pos + pattern.size(), true);
      any = true;
      pos += 1;
    }
  });
  if (!any) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!covered[i]) {
      out.push_back(text[i++]);
      continue;
    }
    while (i < text.size() && covered[i]) ++i;
    out.append(kRedactionMask);
  }
  return out;
}

bool SecretRegistry::Contains(std::string_view text) const {
  std::shared_lock lock(mu_);
  bool found = false;
  ForEachPattern([&](std::string_view pattern) {
    if (!found && text.find(pattern) != std::string_view::npos) found = true;
  });
  return found;
}

}  // namespace latchkey
