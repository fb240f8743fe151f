#include "daemon/socket_activation.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/split.h"

namespace latchkey::daemon {
namespace {

// A decimal number of at most 9 digits, else nullopt.
std::optional<long> Decimal(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<std::string> Getenv(const char* name) {
  const char* v = ::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace

Result<std::vector<ActivatedSocket>> ParseActivation(const std::optional<std::string>& listen_pid,
                                                     const std::optional<std::string>& listen_fds,
                                                     const std::optional<std::string>& fdnames,
                                                     pid_t pid) {
  std::vector<ActivatedSocket> out;
  if (!listen_pid) return out;
  auto p = Decimal(*listen_pid);
  if (!p || *p <= 0) {
    return InvalidArgumentError("socket activation: LISTEN_PID=" + *listen_pid + " is not a pid");
  }
  if (*p != pid) return out;
  auto n = Decimal(listen_fds.value_or(""));
  if (!n || *n > 1024) {
    return InvalidArgumentError("socket activation: LISTEN_FDS=" + listen_fds.value_or("") +
                                " is not a count of descriptors");
  }
  std::vector<std::string_view> names;
  if (fdnames) names = base::Split(*fdnames, ':');
  for (long i = 0; i < *n; ++i) {
    ActivatedSocket s;
    s.fd = kListenFdsStart + static_cast<int>(i);
    if (static_cast<size_t>(i) < names.size()) s.name = std::string(names[static_cast<size_t>(i)]);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<ActivatedSocket>> TakeActivatedSockets() {
  auto r = ParseActivation(Getenv("LISTEN_PID"), Getenv("LISTEN_FDS"), Getenv("LISTEN_FDNAMES"),
                           ::getpid());
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return r;
}

}  // namespace latchkey::daemon
