// The byte pumps of the session tunnel (docs/daemon.md, "Session protocol").
//
// latchkey.v1.Control/Session carries one HTTP/2 connection as a stream of BytesMessage, as
// BuildKit's Control/Session does. Each side puts gRPC on one end of a socketpair and pumps
// bytes between the other end and the stream: socket -> stream with PumpSocketToStream on a
// thread of its own (into a TunnelWriteQueue, tunnel_write_queue.h), stream -> socket from the
// call's OnReadDone reaction. When one direction ends, the caller shuts the socket down
// (ShutdownTunnelSocket) so the other direction and gRPC see the end too.
//
// Thread-safety: the pump and the reactions of one tunnel run concurrently on distinct
// threads; each uses only its own direction of the socket and of the stream.
#ifndef LATCHKEY_SESSION_TUNNEL_PUMP_H_
#define LATCHKEY_SESSION_TUNNEL_PUMP_H_

#include <cstddef>
#include <functional>
#include <utility>

#include "api/latchkey/v1/control.pb.h"
#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::session {

// The largest BytesMessage a pump writes.
inline constexpr size_t kTunnelChunkSize = 32 * 1024;

// A connected AF_UNIX SOCK_STREAM pair, close-on-exec: `first` for gRPC (non-blocking, to hand
// to grpc::CreateInsecureChannelFromFd or grpc::AddInsecureChannelFromFd, which take
// ownership), `second` for the pumps (blocking). Errors: "socketpair: <cause>".
Result<std::pair<base::UniqueFd, base::UniqueFd>> MakeTunnelSocketPair();

// Reads `fd` and hands each chunk (at most kTunnelChunkSize bytes) to `write` until `fd`
// reaches EOF or fails, or `write` returns false. Returns the number of bytes pumped.
size_t PumpSocketToStream(int fd,
                          const std::function<bool(const latchkey::v1::BytesMessage&)>& write);

// shutdown(fd, SHUT_RDWR): both pumps on `fd` and the gRPC end of the pair see the tunnel end.
// Idempotent; errors are ignored (the socket may already be closed by the peer).
void ShutdownTunnelSocket(int fd);

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_TUNNEL_PUMP_H_
