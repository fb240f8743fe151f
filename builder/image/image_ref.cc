#include "builder/image/image_ref.h"

#include <cctype>
#include <vector>

namespace latchkey::image {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool ValidPathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// host[:port] with letters, digits, "." and "-", starting and ending with a letter or digit;
// as in Docker, it must contain "." or ":" or be "localhost" to count as a host.
bool ValidHost(std::string_view c) {
  size_t colon = c.find(':');
  std::string_view host = c.substr(0, colon);
  if (host.empty() || !std::isalnum(static_cast<unsigned char>(host.front())) ||
      !std::isalnum(static_cast<unsigned char>(host.back()))) {
    return false;
  }
  if (host.find('.') == std::string_view::npos && colon == std::string_view::npos &&
      host != "localhost") {
    return false;
  }
  for (char ch : host) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-')) return false;
  }
  if (colon != std::string_view::npos) {
    std::string_view port = c.substr(colon + 1);
    if (port.empty()) return false;
    for (char ch : port) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
    }
  }
  return true;
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (!(word || (i > 0 && (c == '.' || c == '-')))) return false;
  }
  return true;
}

}  // namespace

Result<ImageRef> ParseImageRef(std::string_view ref) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("invalid image reference \"" + std::string(ref) + "\": " + why);
  };
  if (ref.empty()) return bad("it is empty");
  if (ref.find('@') != std::string_view::npos) {
    return bad("digest references are not supported by the local store; use NAME:TAG");
  }
  ImageRef out;
  size_t slash = ref.rfind('/');
  size_t colon = ref.rfind(':');
  std::string_view name = ref;
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    name = ref.substr(0, colon);
    std::string_view tag = ref.substr(colon + 1);
    if (!ValidTag(tag)) {
      return bad(
          "the tag must be 1 to 128 letters, digits, \"_\", \".\" or \"-\" "
          "(not starting with \".\" or \"-\")");
    }
    out.tag = std::string(tag);
  } else {
    out.tag = "latest";
  }
  if (name.rfind("localhost/", 0) == 0) name.remove_prefix(10);
  if (name.empty()) return bad("the name is empty");
  std::vector<std::string_view> parts;
  for (size_t i = 0;;) {
    size_t j = name.find('/', i);
    parts.push_back(name.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (ValidPathComponent(parts[i])) continue;
    if (i == 0 && parts.size() > 1 && ValidHost(parts[i])) continue;
    for (char c : parts[i]) {
      if (c >= 'A' && c <= 'Z') return bad("the name must be lowercase");
    }
    return bad(
        "the name must be lowercase letters and digits separated by \"/\", \".\", \"_\" "
        "or \"-\"");
  }
  out.name = std::string(name);
  return out;
}

}  // namespace latchkey::image
