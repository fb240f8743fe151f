#include "secure/secret_patterns.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "secure/secret_parts.h"

namespace latchkey {
namespace {

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

bool Unreserved(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// The RFC 3986 percent-encoding of `value` with upper- or lower-case hex digits.
Result<SecretBuffer> UrlEncode(std::span<const uint8_t> value, bool upper) {
  size_t len = 0;
  for (uint8_t c : value) len += Unreserved(c) ? 1 : 3;
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(len));
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  uint8_t* p = out.mutable_data();
  for (uint8_t c : value) {
    if (Unreserved(c)) {
      *p++ = c;
    } else {
      *p++ = '%';
      *p++ = static_cast<uint8_t>(digits[c >> 4]);
      *p++ = static_cast<uint8_t>(digits[c & 15]);
    }
  }
  out.Seal();
  return out;
}

// The encoding name of a part's pattern ("part " + the whole value's name).
const char* PartEncoding(const char* encoding) {
  static constexpr std::pair<std::string_view, const char*> kNames[] = {
      {"raw", "part raw"}, {"base64", "part base64"}, {"base64url", "part base64url"},
      {"hex", "part hex"}, {"HEX", "part HEX"},       {"url", "part url"}};
  for (const auto& [name, part] : kNames) {
    if (name == encoding) return part;
  }
  return "part";
}

// Appends the patterns of one value (the secret's own, or one of its parts when `part`).
Status AppendPatterns(std::span<const uint8_t> value, bool part, std::vector<SecretPattern>& out) {
  auto name = [&](const char* e) { return part ? PartEncoding(e) : e; };
  LK_ASSIGN_OR_RETURN(SecretBuffer raw, SecretBuffer::CopyOf(value));
  LK_ASSIGN_OR_RETURN(std::vector<EncodedForm> forms, EncodedForms(value));
  LK_ASSIGN_OR_RETURN(SecretBuffer upper, UrlEncode(value, true));
  LK_ASSIGN_OR_RETURN(SecretBuffer lower, UrlEncode(value, false));
  out.push_back(SecretPattern{std::move(raw), name("raw")});
  for (auto& f : forms) {
    out.push_back(
        SecretPattern{std::move(f.bytes), name(f.encoding), f.partial_before, f.partial_after});
  }
  if (!upper.Equals(value)) {
    bool lower_differs = !lower.Equals(upper.bytes());
    out.push_back(SecretPattern{std::move(upper), name("url")});
    if (lower_differs) out.push_back(SecretPattern{std::move(lower), name("url")});
  }
  return Status::OK();
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

Result<std::vector<SecretPattern>> SecretPatterns(std::span<const uint8_t> value) {
  std::vector<SecretPattern> out;
  if (value.empty()) return out;
  LK_RETURN_IF_ERROR(AppendPatterns(value, /*part=*/false, out));
  LK_ASSIGN_OR_RETURN(std::vector<SecretPart> parts, DeriveSecretParts(value));
  for (const SecretPart& part : parts) {
    LK_RETURN_IF_ERROR(AppendPatterns(part.value.bytes(), /*part=*/true, out));
  }
  return out;
}

}  // namespace latchkey
