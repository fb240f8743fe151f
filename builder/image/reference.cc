#include "builder/image/reference.h"

#include <algorithm>
#include <vector>

namespace latchkey::image {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr size_t kNameTotalLengthMax = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t i = 0;;) {
    size_t j = s.find(sep, i);
    parts.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) return parts;
    i = j + 1;
  }
}

// [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool IsPathComponent(std::string_view c) {
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

// [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsDomainComponent(std::string_view c) {
  if (c.empty() || !IsAlnum(c.front()) || !IsAlnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return IsAlnum(ch) || ch == '-'; });
}

// host [":" port], host = domain-component ("." domain-component)* | "[" ipv6 "]"
bool IsDomain(std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  bool has_port = false;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view ip = d.substr(1, close - 1);
    if (!std::all_of(ip.begin(), ip.end(), [](char ch) { return IsHex(ch) || ch == ':'; })) {
      return false;
    }
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
  } else {
    size_t colon = d.find(':');
    if (colon != std::string_view::npos) {
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
      has_port = true;
    }
    for (std::string_view c : Split(host, '.')) {
      if (!IsDomainComponent(c)) return false;
    }
  }
  if (has_port && (port.empty() || !std::all_of(port.begin(), port.end(),
                                                [](char ch) { return ch >= '0' && ch <= '9'; }))) {
    return false;
  }
  return true;
}

// [\w][\w.-]{0,127}
bool IsTag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !IsWord(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return IsWord(c) || c == '.' || c == '-'; });
}

// [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}
bool IsDigestShape(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view alg = d.substr(0, colon);
  std::string_view hex = d.substr(colon + 1);
  if (hex.size() < 32 || !std::all_of(hex.begin(), hex.end(), IsHex)) return false;
  bool start = true;
  for (char c : alg) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (start) {
      if (!letter) return false;
      start = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      start = true;
    } else if (!IsAlnum(c)) {
      return false;
    }
  }
  return !alg.empty() && !start;
}

// The pieces of a string that matches Docker's anchored ReferenceRegexp.
struct Match {
  std::string_view name, tag, digest;
  bool name_has_domain = false;
};

bool MatchReference(std::string_view s, Match* m) {
  size_t at = s.find('@');
  std::string_view rest = s;
  if (at != std::string_view::npos) {
    m->digest = s.substr(at + 1);
    if (!IsDigestShape(m->digest)) return false;
    rest = s.substr(0, at);
  }
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    m->tag = rest.substr(colon + 1);
    if (!IsTag(m->tag)) return false;
    rest = rest.substr(0, colon);
  }
  m->name = rest;
  std::vector<std::string_view> parts = Split(rest, '/');
  bool all_path = std::all_of(parts.begin() + 1, parts.end(), IsPathComponent);
  if (!all_path) return false;
  // Go's regexp prefers taking the optional domain group.
  if (parts.size() > 1 && IsDomain(parts[0])) {
    m->name_has_domain = true;
    return true;
  }
  return IsPathComponent(parts[0]);
}

// Docker's splitDockerDomain.
std::pair<std::string, std::string> SplitDockerDomain(std::string_view name) {
  std::string domain, remainder;
  size_t i = name.find('/');
  std::string_view first = i == std::string_view::npos ? std::string_view() : name.substr(0, i);
  if (i == std::string_view::npos || (first.find_first_of(".:") == std::string_view::npos &&
                                      first != "localhost" && Lower(first) == first)) {
    domain = kDefaultDomain;
    remainder = name;
  } else {
    domain = first;
    remainder = name.substr(i + 1);
  }
  if (domain == kLegacyDefaultDomain) domain = kDefaultDomain;
  if (domain == kDefaultDomain && remainder.find('/') == std::string::npos) {
    remainder = std::string(kOfficialRepoPrefix) + remainder;
  }
  return {domain, remainder};
}

Status ValidateDigest(std::string_view d) {
  size_t colon = d.find(':');
  std::string_view alg = d.substr(0, colon);
  std::string_view hex = d.substr(colon + 1);
  size_t want = 0;
  if (alg == "sha256") {
    want = 64;
  } else if (alg == "sha384") {
    want = 96;
  } else if (alg == "sha512") {
    want = 128;
  } else {
    return InvalidArgumentError("unsupported digest algorithm");
  }
  if (hex.size() != want) return InvalidArgumentError("invalid checksum digest length");
  if (!std::all_of(hex.begin(), hex.end(), IsLowerHex)) {
    return InvalidArgumentError("invalid checksum digest format");
  }
  return Status::OK();
}

}  // namespace

std::string Reference::Name() const { return domain.empty() ? path : domain + "/" + path; }

std::string Reference::FamiliarName() const {
  if (domain != kDefaultDomain) return Name();
  std::string_view p = path;
  if (p.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix) {
    std::string_view rest = p.substr(kOfficialRepoPrefix.size());
    if (rest.find('/') == std::string_view::npos) return std::string(rest);
  }
  return path;
}

static std::string WithTagDigest(std::string name, const Reference& r) {
  if (!r.tag.empty()) name += ":" + r.tag;
  if (!r.digest.empty()) name += "@" + r.digest;
  return name;
}

std::string Reference::String() const { return WithTagDigest(Name(), *this); }

std::string Reference::FamiliarString() const { return WithTagDigest(FamiliarName(), *this); }

Result<Reference> ParseNormalizedReference(std::string_view s) {
  if (s.size() == 64 && std::all_of(s.begin(), s.end(), IsLowerHex)) {
    return InvalidArgumentError("invalid repository name (" + std::string(s) +
                                "), cannot specify 64-byte hexadecimal strings");
  }
  auto [domain, remainder] = SplitDockerDomain(s);
  std::string_view remote = remainder;
  if (size_t c = remote.find(':'); c != std::string_view::npos) remote = remote.substr(0, c);
  if (Lower(remote) != remote) {
    return InvalidArgumentError("invalid reference format: repository name must be lowercase");
  }
  const std::string full = domain + "/" + remainder;
  Match m;
  if (!MatchReference(full, &m)) {
    Match lower;
    if (MatchReference(Lower(full), &lower)) {
      return InvalidArgumentError("invalid reference format: repository name must be lowercase");
    }
    return InvalidArgumentError("invalid reference format");
  }
  if (m.name.size() > kNameTotalLengthMax) {
    return InvalidArgumentError("repository name must not be more than 255 characters");
  }
  Reference r;
  if (!m.digest.empty()) {
    LK_RETURN_IF_ERROR(ValidateDigest(m.digest));
    r.digest = std::string(m.digest);
  }
  r.tag = std::string(m.tag);
  if (m.name_has_domain) {
    size_t slash = m.name.find('/');
    r.domain = std::string(m.name.substr(0, slash));
    r.path = std::string(m.name.substr(slash + 1));
  } else {
    r.path = std::string(m.name);
  }
  return r;
}

Reference WithDefaultTag(Reference ref) {
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace latchkey::image
