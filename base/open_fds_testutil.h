// Test-only: the process's open file descriptors, for tests that prove a component closes
// everything it opened (sockets, pipes, eventfds) once a call, a connection or a stream ends.
// Header-only, like base/testutil.h.
//
// Thread-safety: reads /proc/self/fd; other threads may open and close descriptors meanwhile,
// which is why the waiting forms exist.
#ifndef LATCHKEY_BASE_OPEN_FDS_TESTUTIL_H_
#define LATCHKEY_BASE_OPEN_FDS_TESTUTIL_H_

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

namespace latchkey::base::testing {

// What each open descriptor points at ("socket:[123]", "/dev/null", ...), one entry per fd.
inline std::multiset<std::string> OpenFds() {
  std::multiset<std::string> fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    fds.insert(std::filesystem::read_symlink(e.path(), ec).string());
  }
  return fds;
}

// The open descriptors once they equal `want` (a gRPC reactor may end just after the call that
// the test waited for), or as they are after 5 s.
inline std::multiset<std::string> FdsSettledAt(const std::multiset<std::string>& want) {
  auto fds = OpenFds();
  for (int i = 0; i < 500 && fds != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    fds = OpenFds();
  }
  return fds;
}

// The open descriptors once three snapshots 20 ms apart agree (a reactor's OnDone may run just
// after the client's Finish returned).
inline std::multiset<std::string> SteadyFds() {
  auto fds = OpenFds();
  for (int same = 0; same < 3;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto now = OpenFds();
    same = now == fds ? same + 1 : 0;
    fds = std::move(now);
  }
  return fds;
}

}  // namespace latchkey::base::testing

#endif  // LATCHKEY_BASE_OPEN_FDS_TESTUTIL_H_
