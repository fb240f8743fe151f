#include "store/name.h"

#include <charconv>

namespace latchkey::store {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

Status ValidateName(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("name must be provided");
  bool ok = name.size() <= kMaxNameLength && IsAlnum(name.front()) && IsAlnum(name.back());
  for (char c : name) {
    if (!ok) break;
    ok = IsAlnum(c) || c == '-' || c == '_' || c == '.';
  }
  if (!ok) {
    return InvalidArgumentError(
        "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end "
        "character must be [a-zA-Z0-9]");
  }
  return Status::OK();
}

Status ValidateDataSize(size_t size) {
  if (size == 0 || size >= kMaxSecretSize) {
    return InvalidArgumentError("secret data must be larger than 0 and less than 512000 bytes");
  }
  return Status::OK();
}

std::string Reference::ToString() const {
  if (version == 0) return name;
  return name + "@" + std::to_string(version);
}

Result<Reference> ParseReference(std::string_view ref) {
  Reference out;
  size_t at = ref.rfind('@');
  std::string_view name = at == std::string_view::npos ? ref : ref.substr(0, at);
  LK_RETURN_IF_ERROR(ValidateName(name));
  out.name = std::string(name);
  if (at != std::string_view::npos) {
    std::string_view digits = ref.substr(at + 1);
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || v == 0 ||
        digits.front() == '+') {
      return InvalidArgumentError("invalid secret reference \"" + std::string(ref) +
                                  "\": the version after @ must be a positive integer");
    }
    out.version = v;
  }
  return out;
}

}  // namespace latchkey::store
