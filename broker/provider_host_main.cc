// latchkey-provider-host: runs one provider plugin out of the broker's process.
//
//   latchkey-provider-host --plugin PATH [--sha256 HEX] [--uid UID] [--gid GID]
//                          [--keep-fd N]...
//
// Started by the broker (broker/provider_process.h) with its end of a socketpair on fd 3 and
// a clean environment. It hardens and confines itself (broker/host_confinement.h), then loads
// and serves the plugin (broker/provider_server.h). Not meant to be run by hand.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "broker/host_confinement.h"
#include "broker/host_protocol.h"
#include "broker/provider_server.h"
#include "secure/hardening.h"

namespace {

bool ParseUint(const char* s, unsigned long* out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtoul(s, &end, 10);
  return errno == 0 && *end == '\0';
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// The sanitizer build of the host: a plugin's crash must end the host by its signal and a
// plugin's exit(N) with status N, as in every other build (the broker reports "crashed
// (signal 11, SIGSEGV)" or "exited (status N)"), not by AddressSanitizer's report and exit
// status 1. The leak check at exit is off too: LeakSanitizer stops the process with ptrace,
// which the host's seccomp filter refuses. The host's environment is cleaned, so this is set
// here rather than in ASAN_OPTIONS.
extern "C" const char* __asan_default_options() {
  return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:handle_sigill=0:"
         "detect_leaks=0";
}
#endif

int main(int argc, char** argv) {
  using namespace latchkey;
  ProviderServerOptions serve;
  ConfinementOptions confine;
  confine.socket_fd = hostproto::kHostSocketFd;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    unsigned long n = 0;
    if (a == "--plugin" && v != nullptr) {
      serve.plugin_path = v;
    } else if (a == "--sha256" && v != nullptr) {
      serve.sha256_pin = v;
    } else if (a == "--uid" && ParseUint(v, &n)) {
      confine.uid = static_cast<uid_t>(n);
    } else if (a == "--gid" && ParseUint(v, &n)) {
      confine.gid = static_cast<gid_t>(n);
    } else if (a == "--keep-fd" && ParseUint(v, &n) && n < 65536) {
      confine.keep_fds.push_back(static_cast<int>(n));
    } else {
      return kHostExitUsage;
    }
    ++i;
  }
  if (serve.plugin_path.empty()) return kHostExitUsage;
  Status confined = HardenProcess().status();
  if (confined.ok()) confined = Confine(confine);
  if (!confined.ok()) {
    // Tell the broker why, in the ERROR frame it waits for instead of READY.
    hostproto::FrameChannel ch{base::UniqueFd(hostproto::kHostSocketFd)};
    hostproto::Encoder e;
    e.U32(static_cast<uint32_t>(confined.code()));
    e.Str(confined.message());
    (void)ch.Send(hostproto::Type::kError, e.out());
    return kHostExitConfinement;
  }
  return ServeProvider(hostproto::kHostSocketFd, serve);
}
