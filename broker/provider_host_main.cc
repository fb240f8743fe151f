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
