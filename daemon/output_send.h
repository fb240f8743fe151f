// SendOutput: latchkeyd's side of an -o output that lands on the client (docs/daemon.md,
// "Outputs"): the file or directory the build wrote in the daemon's job directory is streamed
// to the client's moby.filesync.v1.FileSend/DiffCopy on the session (BuildKit's channel for
// exporter output), and the client writes it (cli/output_receiver.h).
//
// Thread-safety: one call per output; calls on one channel may run concurrently.
#ifndef LATCHKEY_DAEMON_OUTPUT_SEND_H_
#define LATCHKEY_DAEMON_OUTPUT_SEND_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "base/cancel.h"
#include "latchkey/status.h"

namespace latchkey::daemon {

// The pieces of a sent output: at most this many bytes per BytesMessage.
inline constexpr size_t kOutputChunkSize = 1 << 20;

// Streams `path` to the session's FileSend/DiffCopy with metadata
// "buildkit-attachable-exporter-id: <index>": a regular file's bytes as they are, a directory as
// a tar stream (image::WriteDirectoryTar). The client's answer is the result: its error
// ("output /home/ann/out: mkdir ...: No space left on device") unchanged; FAILED_PRECONDITION
// "the client's session does not serve moby.filesync.v1.FileSend (-o needs a latchkey CLI that
// receives outputs)" when it does not serve it; UNAVAILABLE "latchkeyd: the client's session
// ended while an output was sent" when the session broke. `cancel` is polled per chunk.
Status SendOutput(const std::shared_ptr<grpc::Channel>& session, size_t index,
                  const std::string& path, const base::CancelCheck& cancel);

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_OUTPUT_SEND_H_
