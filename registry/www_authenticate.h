// Parsing of `WWW-Authenticate` headers (RFC 7235 challenges) as registries send them:
//   Bearer
//   realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull"
//   Basic realm="basic-realm"
// Several challenges may share one header (comma-separated) or come in several headers.
// Parameter names are case-insensitive (stored lower case); values are quoted strings (with
// backslash escapes) or tokens.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_REGISTRY_WWW_AUTHENTICATE_H_
#define LATCHKEY_REGISTRY_WWW_AUTHENTICATE_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::registry {

struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // lower-case names
  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// Every challenge of one header value. INVALID_ARGUMENT
// `malformed WWW-Authenticate header: <why>` for text that is not a challenge list.
Result<std::vector<Challenge>> ParseWwwAuthenticate(std::string_view header);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_WWW_AUTHENTICATE_H_
