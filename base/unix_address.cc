#include "base/unix_address.h"

#include <cstring>

namespace latchkey::base {

std::optional<sockaddr_un> UnixAddress(std::string_view path) {
  if (path.size() > kMaxUnixPathBytes) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  addr.sun_path[path.size()] = '\0';
  return addr;
}

}  // namespace latchkey::base
