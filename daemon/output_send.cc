#include "daemon/output_send.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "api/moby/filesync/v1/filesync.grpc.pb.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "builder/image/dir_tar.h"

namespace latchkey::daemon {

Status SendOutput(const std::shared_ptr<grpc::Channel>& session, size_t index,
                  const std::string& path, const base::CancelCheck& cancel) {
  if (session == nullptr) {
    return UnavailableError("latchkeyd: the client's session ended while an output was sent");
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return base::ErrnoStatus("stat", path, errno);
  auto stub = moby::filesync::v1::FileSend::NewStub(session);
  grpc::ClientContext ctx;
  ctx.AddMetadata("buildkit-attachable-exporter-id", std::to_string(index));
  auto stream = stub->DiffCopy(&ctx);
  moby::filesync::v1::BytesMessage msg;
  bool broken = false;
  auto send = [&](std::string_view bytes) -> Status {
    LK_RETURN_IF_ERROR(base::PollCancel(cancel));
    msg.set_data(bytes.data(), bytes.size());
    if (!stream->Write(msg)) {
      broken = true;
      return AbortedError("the client stopped receiving");
    }
    return Status::OK();
  };
  Status sent;
  if (S_ISDIR(st.st_mode)) {
    sent = image::WriteDirectoryTar(path, send, cancel);
  } else {
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return base::ErrnoStatus("open", path, errno);
    std::vector<char> buf(kOutputChunkSize);
    while (sent.ok()) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        sent = base::ErrnoStatus("read", path, errno);
        break;
      }
      if (n == 0) break;
      sent = send(std::string_view(buf.data(), static_cast<size_t>(n)));
    }
  }
  if (!sent.ok() && !broken) {
    ctx.TryCancel();
    (void)stream->Finish();
    return sent;
  }
  if (!broken) stream->WritesDone();
  grpc::Status done = stream->Finish();
  if (done.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return FailedPreconditionError(
        "the client's session does not serve moby.filesync.v1.FileSend (-o needs a latchkey CLI "
        "that receives outputs)");
  }
  if (done.error_code() == grpc::StatusCode::UNAVAILABLE ||
      done.error_code() == grpc::StatusCode::CANCELLED) {
    if (!sent.ok() && !broken) return sent;
    return UnavailableError("latchkeyd: the client's session ended while an output was sent");
  }
  if (!done.ok()) return Status(static_cast<StatusCode>(done.error_code()), done.error_message());
  return sent;
}

}  // namespace latchkey::daemon
