// The AF_UNIX address of a socket path, with the length check every caller needs.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BASE_UNIX_ADDRESS_H_
#define LATCHKEY_BASE_UNIX_ADDRESS_H_

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <optional>
#include <string_view>

namespace latchkey::base {

// The longest path an address holds: sizeof sun_path - 1 (the terminating NUL), 107 on Linux.
inline constexpr size_t kMaxUnixPathBytes = sizeof(sockaddr_un::sun_path) - 1;

// The address of the socket at `path` (sun_path NUL-terminated); nullopt when `path` is longer
// than kMaxUnixPathBytes (each caller says so in its own words).
std::optional<sockaddr_un> UnixAddress(std::string_view path);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_UNIX_ADDRESS_H_
