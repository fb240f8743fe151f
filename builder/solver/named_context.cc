// ParseNamedContext (builder.h): --build-context NAME=DIR | NAME=oci-layout://PATH[:TAG].
#include <string>

#include "builder/solver/builder.h"

namespace latchkey::build {

Result<NamedContext> ParseNamedContext(const std::string& value) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("invalid --build-context \"" + value + "\": " + why);
  };
  size_t eq = value.find('=');
  if (eq == 0 || eq == std::string::npos || eq + 1 == value.size()) {
    return bad("want NAME=DIR or NAME=oci-layout://PATH[:TAG]");
  }
  NamedContext c;
  c.name = value.substr(0, eq);
  for (char& ch : c.name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string rest = value.substr(eq + 1);
  constexpr std::string_view kOci = "oci-layout://";
  size_t scheme = rest.find("://");
  if (rest.compare(0, kOci.size(), kOci) == 0) {
    c.kind = NamedContext::Kind::kOciLayout;
    std::string path = rest.substr(kOci.size());
    // PATH[:TAG] or PATH@sha256:... (a digest picks by manifest digest; kept in `tag`).
    size_t at = path.rfind('@');
    size_t colon = path.rfind(':');
    size_t slash = path.rfind('/');
    if (at != std::string::npos && (slash == std::string::npos || at > slash)) {
      c.tag = path.substr(at + 1);
      path.resize(at);
    } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      c.tag = path.substr(colon + 1);
      path.resize(colon);
    }
    if (path.empty()) return bad("the oci-layout:// path is empty");
    c.path = path;
  } else if (scheme != std::string::npos) {
    return bad(rest.substr(0, scheme) +
               ":// sources are not supported (latchkey builds offline); use a directory or "
               "oci-layout://");
  } else {
    c.kind = NamedContext::Kind::kDirectory;
    c.path = rest;
  }
  return c;
}

}  // namespace latchkey::build
