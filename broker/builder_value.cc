#include "broker/builder_value.h"

#include <cctype>

#include "base/unix_address.h"

namespace latchkey {
namespace {

constexpr std::string_view kWantBuilder =
    "(want embedded, docker or docker://unix:///path/docker.sock)";
constexpr std::string_view kWantAddress = "(want unix:///path/docker.sock or tcp://HOST:PORT)";

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Result<std::string> UnixEngine(std::string_view path) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgumentError(
        "the socket path must be absolute (unix:///path/docker.sock: three slashes)");
  }
  if (path.size() > base::kMaxUnixPathBytes) {
    return InvalidArgumentError(
        "the socket path is " + std::to_string(path.size()) + " bytes, longer than the " +
        std::to_string(base::kMaxUnixPathBytes) + " a unix socket address holds");
  }
  return "unix://" + std::string(path);
}

// HOST[:PORT] with Docker's defaults (127.0.0.1, 2375); [IPv6] in brackets.
Result<std::string> TcpEngine(std::string_view rest) {
  std::string_view host;
  size_t i = 0;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError("unexpected \"" + std::string(rest) +
                                  "\" after tcp:// (want tcp://HOST:PORT, IPv6 as [::1]:2375)");
    }
    host = rest.substr(0, close + 1);
    i = close + 1;
  } else {
    i = rest.find_first_of(":/");
    if (i == std::string_view::npos) i = rest.size();
    host = rest.substr(0, i);
  }
  std::string port = "2375";
  if (i < rest.size() && rest[i] == ':') {
    size_t end = rest.find('/', i + 1);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view p = rest.substr(i + 1, end - i - 1);
    if (!AllDigits(p) || p.size() > 5 || std::stoi(std::string(p)) < 1 ||
        std::stoi(std::string(p)) > 65535) {
      return InvalidArgumentError("invalid port \"" + std::string(p) + "\" (want 1 to 65535)");
    }
    port = std::string(p);
    i = end;
  }
  if (i < rest.size()) {
    return InvalidArgumentError("unexpected \"" + std::string(rest.substr(i)) +
                                "\" after HOST:PORT (want tcp://HOST:PORT)");
  }
  return "tcp://" + (host.empty() ? std::string("127.0.0.1") : std::string(host)) + ":" + port;
}

}  // namespace

const char* BuilderKindName(BuilderKind kind) {
  return kind == BuilderKind::kDocker ? "docker" : "embedded";
}

Result<std::string> ParseEngineAddress(std::string_view address) {
  size_t sep = address.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgumentError("unsupported Docker Engine address " + std::string(kWantAddress));
  }
  std::string_view scheme = address.substr(0, sep);
  std::string_view rest = address.substr(sep + 3);
  if (scheme == "unix") return UnixEngine(rest);
  if (scheme == "tcp") return TcpEngine(rest);
  if (scheme == "https") {
    return InvalidArgumentError(
        "TLS connections to Docker Engine are not supported (use unix:///path/docker.sock, or "
        "tcp://HOST:PORT without TLS)");
  }
  return InvalidArgumentError("unsupported scheme \"" + std::string(scheme) + "\" " +
                              std::string(kWantAddress));
}

Result<BuilderValue> ParseBuilderValue(std::string_view value) {
  BuilderValue out;
  if (value == "embedded") return out;
  out.kind = BuilderKind::kDocker;
  if (value == "docker") return out;
  constexpr std::string_view kPrefix = "docker://";
  if (value.substr(0, kPrefix.size()) != kPrefix) {
    return InvalidArgumentError("unknown builder " + std::string(kWantBuilder));
  }
  std::string_view address = value.substr(kPrefix.size());
  if (address.empty()) {
    return InvalidArgumentError(
        "no Docker Engine address after docker:// (want docker://unix:///path/docker.sock or "
        "docker://tcp://HOST:PORT)");
  }
  LK_ASSIGN_OR_RETURN(out.engine, ParseEngineAddress(address));
  return out;
}

}  // namespace latchkey
