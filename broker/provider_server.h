// The host end of process isolation: what latchkey-provider-host runs after confining itself.
// Loads one plugin through PluginLoader (directory and file checks, sha256 pin, ABI
// handshake), reports READY (or the load error), creates one ProviderInstance from the CREATE
// frame's config and then answers FETCH, LIST and HEALTH frames one at a time until the broker
// closes the socket (host_protocol.h). Plugin log lines, and the host's own warnings about
// plugin bugs, go to the broker as LOG frames.
//
// Secret bytes (config values, fetched values) are held only in SecretBuffers and wiped once
// the reply is sent.
#ifndef LATCHKEY_BROKER_PROVIDER_SERVER_H_
#define LATCHKEY_BROKER_PROVIDER_SERVER_H_

#include <string>

namespace latchkey {

struct ProviderServerOptions {
  std::string plugin_path;
  std::string sha256_pin;  // "" = none
};

// Exit codes of latchkey-provider-host.
inline constexpr int kHostExitOk = 0;            // the broker closed the socket
inline constexpr int kHostExitUsage = 2;         // bad command line
inline constexpr int kHostExitLoadFailed = 3;    // the plugin did not load (ERROR sent)
inline constexpr int kHostExitCreateFailed = 4;  // create failed (ERROR sent)
inline constexpr int kHostExitProtocol = 5;      // the broker sent something unexpected
inline constexpr int kHostExitConfinement = 6;   // confinement could not be applied

// Serves the plugin on descriptor `sock` (see the file comment). Returns an exit code above.
// Call from a single-threaded process whose logging is not yet initialised: it installs the
// LOG-frame sink as the default sink.
int ServeProvider(int sock, const ProviderServerOptions& options);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROVIDER_SERVER_H_
