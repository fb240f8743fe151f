// ContextService: the client's latchkey.v1.ContextSync (api/latchkey/v1/control.proto), served
// on a daemon session so that latchkeyd can copy the build context incrementally
// (docs/daemon.md, "Context transfer").
//
// Manifest walks the context directory (lstat, names sorted, symlinks not followed) with the
// caller's ignore rules (the CLI passes .dockerignore's: builder/solver/dockerignore.h) and
// streams one entry per directory, regular file and symlink; other file types are skipped.
// ReadFiles serves only regular files that the latest Manifest listed (the daemon cannot read
// anything else of the client's): for a file whose SHA-256 equals the daemon's `known_sha256`
// it answers `unchanged`, else the bytes in chunks of kContextChunkSize.
//
// Thread-safety: gRPC calls the handlers concurrently; the listed-set is guarded by a mutex.
#ifndef LATCHKEY_SESSION_CONTEXT_SERVICE_H_
#define LATCHKEY_SESSION_CONTEXT_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "latchkey/status.h"

namespace latchkey::session {

inline constexpr size_t kContextChunkSize = 1 << 20;

// Which paths (slash-separated, relative to the root, "a/b") the walk leaves out. Both may be
// empty (nothing is excluded).
struct ContextFilter {
  std::function<bool(std::string_view rel)> excluded;
  // For an excluded directory: may something below it be included again ('!' patterns)?
  std::function<bool(std::string_view rel)> may_include_under;
};

class ContextService final : public latchkey::v1::ContextSync::Service {
 public:
  // `root`: the context directory (absolute).
  ContextService(std::string root, ContextFilter filter)
      : root_(std::move(root)), filter_(std::move(filter)) {}

  // The root itself is the first entry, with path ".". INTERNAL "context <root>: <what>:
  // <errno text>" when the walk fails.
  grpc::Status Manifest(grpc::ServerContext* context, const latchkey::v1::ManifestRequest* request,
                        grpc::ServerWriter<latchkey::v1::ContextEntry>* writer) override;
  // A path the latest Manifest did not list as a regular file is refused with
  // PERMISSION_DENIED "context: <path> is not a file of the build context"; a file that cannot
  // be read gets a chunk with `error` set.
  grpc::Status ReadFiles(grpc::ServerContext* context,
                         const latchkey::v1::ReadFilesRequest* request,
                         grpc::ServerWriter<latchkey::v1::FileChunk>* writer) override;

  // File bytes sent by ReadFiles so far, and the files sent (not those answered `unchanged`).
  uint64_t bytes_sent() const { return bytes_sent_.load(); }
  uint64_t files_sent() const { return files_sent_.load(); }

 private:
  const std::string root_;
  const ContextFilter filter_;
  std::mutex mu_;
  std::set<std::string, std::less<>> listed_;
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> files_sent_{0};
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_CONTEXT_SERVICE_H_
