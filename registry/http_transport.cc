#include "registry/http_transport.h"

#include <cctype>

namespace latchkey::registry {

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::vector<std::string> HttpResponse::Headers(std::string_view name) const {
  std::vector<std::string> out;
  auto [b, e] = headers.equal_range(std::string(name));
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

Status StringSink::OnData(const char* data, size_t size) {
  if (body_.size() + size > limit_) {
    return ResourceExhaustedError(what_ + " is larger than " + std::to_string(limit_) + " bytes");
  }
  body_.append(data, size);
  return Status::OK();
}

std::string UrlHostPort(std::string_view url) {
  size_t s = url.find("://");
  if (s == std::string_view::npos) return "";
  std::string_view rest = url.substr(s + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view auth = rest.substr(0, end);
  if (size_t at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  std::string out(auth);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ResolveLocation(std::string_view base_url, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  size_t s = base_url.find("://");
  std::string_view scheme = base_url.substr(0, s);
  if (location.rfind("//", 0) == 0) return std::string(scheme) + ":" + std::string(location);
  std::string origin = std::string(scheme) + "://" + UrlHostPort(base_url);
  if (!location.empty() && location.front() == '/') return origin + std::string(location);
  // Relative to the base path's directory.
  std::string_view path = base_url.substr(s + 3);
  size_t slash = path.find('/');
  std::string dir = slash == std::string_view::npos ? "/" : std::string(path.substr(slash));
  size_t q = dir.find_first_of("?#");
  if (q != std::string::npos) dir = dir.substr(0, q);
  dir = dir.substr(0, dir.rfind('/') + 1);
  return origin + dir + std::string(location);
}

std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace latchkey::registry
