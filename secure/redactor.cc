#include "secure/redactor.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "secure/secret_parts.h"

namespace latchkey {
namespace {

std::string_view View(const SecretBuffer& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The characters of the unpadded encoding of (`shift` unknown bytes + value) that depend on the
// value's bytes alone: from ceil(8 * shift / 6) to floor(8 * (shift + n) / 6).
Result<EncodedForm> Base64Core(std::span<const uint8_t> value, size_t shift, int variant) {
  const size_t total = shift + value.size();
  LK_ASSIGN_OR_RETURN(SecretBuffer input, SecretBuffer::Allocate(total));
  std::memcpy(input.mutable_data() + shift, value.data(), value.size());
  size_t cap = sodium_base64_encoded_len(total, variant);
  LK_ASSIGN_OR_RETURN(SecretBuffer encoded, SecretBuffer::Allocate(cap));
  sodium_bin2base64(reinterpret_cast<char*>(encoded.mutable_data()), cap, input.data(), total,
                    variant);
  const size_t first = (8 * shift + 5) / 6;
  const size_t last = 8 * total / 6;
  EncodedForm form{SecretBuffer(), "", shift != 0, (8 * total) % 6 != 0};
  if (last <= first) return form;
  LK_ASSIGN_OR_RETURN(form.bytes, SecretBuffer::CopyOf({encoded.data() + first, last - first}));
  return form;
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

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '-' || c == '_';
}

}  // namespace

Result<std::vector<EncodedForm>> EncodedForms(std::span<const uint8_t> value) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  std::vector<EncodedForm> forms;
  if (value.empty()) return forms;
  for (size_t shift = 0; shift < 3; ++shift) {
    LK_ASSIGN_OR_RETURN(EncodedForm std_core,
                        Base64Core(value, shift, sodium_base64_VARIANT_ORIGINAL_NO_PADDING));
    if (std_core.bytes.size() < kMinBase64CoreLength) continue;
    LK_ASSIGN_OR_RETURN(EncodedForm url_core,
                        Base64Core(value, shift, sodium_base64_VARIANT_URLSAFE_NO_PADDING));
    bool url_differs = !url_core.bytes.Equals(std_core.bytes.bytes());
    std_core.encoding = "base64";
    forms.push_back(std::move(std_core));
    if (url_differs) {
      url_core.encoding = "base64url";
      forms.push_back(std::move(url_core));
    }
  }
  for (bool upper : {false, true}) {
    LK_ASSIGN_OR_RETURN(SecretBuffer h, Hex(value, upper));
    bool duplicate = std::any_of(forms.begin(), forms.end(),
                                 [&](const EncodedForm& f) { return f.bytes.Equals(h.bytes()); });
    if (!duplicate) forms.push_back(EncodedForm{std::move(h), upper ? "HEX" : "hex"});
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
    LK_ASSIGN_OR_RETURN(std::vector<SecretPart> parts, DeriveSecretParts(value->bytes()));
    for (auto& part : parts) {
      LK_ASSIGN_OR_RETURN(std::vector<EncodedForm> forms, EncodedForms(part.value.bytes()));
      for (auto& f : forms) entry.encodings.push_back(std::move(f));
      entry.parts.push_back(std::move(part.value));
    }
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
    if (entry.raw && !entry.raw->empty()) fn(View(*entry.raw), nullptr);
    for (const auto& p : entry.parts) fn(View(p), nullptr);
    for (const auto& e : entry.encodings) fn(View(e.bytes), &e);
  }
}

std::string SecretRegistry::Redact(std::string_view text) const {
  std::shared_lock lock(mu_);
  if (entries_.empty()) return std::string(text);
  // Mark every byte covered by any match, then emit one mask per covered run, so overlapping
  // matches (a value and its hex form sharing digits) never leave a fragment behind.
  std::vector<bool> covered(text.size(), false);
  bool any = false;
  ForEachPattern([&](std::string_view pattern, const EncodedForm* form) {
    size_t pos = 0;
    while ((pos = text.find(pattern, pos)) != std::string_view::npos) {
      size_t begin = pos, end = pos + pattern.size();
      if (form != nullptr && form->partial_before && begin > 0 && IsBase64Char(text[begin - 1])) {
        --begin;
      }
      if (form != nullptr && form->partial_after && end < text.size() && IsBase64Char(text[end])) {
        ++end;
      }
      if (form != nullptr && form->partial_after) {
        for (int i = 0; i < 2 && end < text.size() && text[end] == '='; ++i) ++end;
      }
      std::fill(covered.begin() + begin, covered.begin() + end, true);
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
  ForEachPattern([&](std::string_view pattern, const EncodedForm*) {
    if (!found && text.find(pattern) != std::string_view::npos) found = true;
  });
  return found;
}

}  // namespace latchkey
