// Socket activation, as systemd passes sockets (sd_listen_fds(3); config/systemd/): when
// LISTEN_PID is this process's pid, LISTEN_FDS=n sockets are open at descriptors 3..3+n-1, named
// by LISTEN_FDNAMES (colon-separated, optional). latchkeyd serves each instead of creating its
// own unix socket (listener.h UnixListener::Adopt). Written from the protocol's description; no
// libsystemd.
//
// Thread-safety: TakeActivatedSockets reads and unsets environment variables: call it from the
// main thread before any other thread starts.
#ifndef LATCHKEY_DAEMON_SOCKET_ACTIVATION_H_
#define LATCHKEY_DAEMON_SOCKET_ACTIVATION_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::daemon {

inline constexpr int kListenFdsStart = 3;

struct ActivatedSocket {
  int fd = -1;
  std::string name;  // from LISTEN_FDNAMES; "" when not given
};

// The sockets the variables describe for process `pid`; empty when LISTEN_PID is unset or
// names another process (the variables were meant for a parent). Errors (INVALID_ARGUMENT):
// "socket activation: LISTEN_PID=<v> is not a pid", "socket activation: LISTEN_FDS=<v> is not
// a count of descriptors".
Result<std::vector<ActivatedSocket>> ParseActivation(const std::optional<std::string>& listen_pid,
                                                     const std::optional<std::string>& listen_fds,
                                                     const std::optional<std::string>& fdnames,
                                                     pid_t pid);

// ParseActivation of this process's environment; unsets LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES (children must not take the sockets as theirs).
Result<std::vector<ActivatedSocket>> TakeActivatedSockets();

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_SOCKET_ACTIVATION_H_
