// OutputReceiver: the client's moby.filesync.v1.FileSend (api/moby/filesync/v1/filesync.proto),
// served on a latchkeyd session so that `-o` outputs that land on the client's file system are
// written by the CLI, from bytes the daemon streams back (docs/daemon.md, "Outputs").
//
// One DiffCopy call per output; its metadata "buildkit-attachable-exporter-id" is the output's
// index among the build's -o flags. By kind:
//   kFile       (type=oci): the bytes are the archive; written to "<dest>.tmp-XXXXXX" beside
//               dest (created by Expect), fsynced and renamed over dest at the end; dest "-"
//               (image::kStdoutDest): written to standard output as they arrive.
//   kDirectory  (type=local): a tar stream, unpacked into dest (created if missing) with
//               image::TarUnpacker: no entry lands outside dest (openat2 RESOLVE_IN_ROOT), no
//               device node is ever created (one in the stream fails the output), no whiteouts.
//   kOciLayout  (type=oci-layout): a tar of a fresh OCI layout, unpacked beside dest and merged
//               into it as the embedded build adds an image to a layout: blobs added, the
//               index entries with the same ref name replaced.
// Errors are the call's status (INTERNAL, ...): "output <dest>: <cause>"; the daemon fails the
// build with them.
//
// Thread-safety: Expect before the session opens; DiffCopy runs on gRPC's threads (one call
// per output); Missing/Abandon after the build.
#ifndef LATCHKEY_CLI_OUTPUT_RECEIVER_H_
#define LATCHKEY_CLI_OUTPUT_RECEIVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/moby/filesync/v1/filesync.grpc.pb.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// The metadata key naming the output of a DiffCopy call (BuildKit's).
inline constexpr char kExporterIdKey[] = "buildkit-attachable-exporter-id";

enum class ClientOutputKind { kFile, kDirectory, kOciLayout };

// Where the received bytes come from: the next piece, or false at the end of the stream.
using ByteSource = std::function<bool(std::string* piece)>;

class OutputReceiver final : public moby::filesync::v1::FileSend::Service {
 public:
  OutputReceiver();
  ~OutputReceiver() override;

  // Checks and prepares `dest` (absolute) for output `index` before the build, with the embedded
  // build's errors: kFile creates "<dest>.tmp-XXXXXX" ("create <dest>: No such file or
  // directory"), kDirectory creates dest ("mkdir <dest>: Not a directory"), kOciLayout checks
  // it (image::PrepareOciLayoutDest: "<dest> exists and is not an OCI image layout (no
  // oci-layout file); choose an empty or new directory").
  Status Expect(size_t index, ClientOutputKind kind, const std::string& dest);

  // Receives output `index` from `source` (DiffCopy's stream, or a test's bytes). NOT_FOUND
  // "output <index> was not requested" for an index Expect did not see or a second delivery.
  // `cut_short`, asked once `source` ends: true when the sender gave up (the call was
  // cancelled), so the bytes are not a whole output: ABORTED "the stream from latchkeyd ended
  // early (the build was cancelled or the daemon went away)", and nothing is published.
  Status Receive(size_t index, const ByteSource& source,
                 const std::function<bool()>& cut_short = {});

  grpc::Status DiffCopy(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<moby::filesync::v1::BytesMessage, moby::filesync::v1::BytesMessage>*
          stream) override;

  // After a successful build: DATA_LOSS "latchkeyd did not send the output <dest>" for the
  // first expected output that never arrived; OK when all did.
  Status Missing() const;

  // After a failed or cancelled build: removes what Expect created for outputs that were not
  // received (the temporary file, a dest directory that did not exist).
  void Abandon();

  // Where dest "-" is written (tests); default STDOUT_FILENO.
  void set_stdout_fd(int fd) { stdout_fd_ = fd; }

 private:
  struct Pending;
  Status ReceiveFile(Pending& p, const ByteSource& source, const std::function<bool()>& cut_short);
  Status ReceiveLayout(Pending& p, const ByteSource& source,
                       const std::function<bool()>& cut_short);

  std::mutex mu_;
  std::map<size_t, std::unique_ptr<Pending>> pending_;
  int stdout_fd_ = 1;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_OUTPUT_RECEIVER_H_
