#include "daemon/session_agent_dialer.h"

#include <poll.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "api/moby/sshforward/v1/ssh.grpc.pb.h"
#include "base/errno_status.h"
#include "secure/secret_buffer.h"
#include "session/ssh_service.h"

namespace latchkey::daemon {

namespace {

using moby::sshforward::v1::BytesMessage;
using moby::sshforward::v1::SSH;

}  // namespace

Status SessionAgentDialer::Check(const std::string& id) {
  moby::sshforward::v1::CheckAgentRequest req;
  req.set_id(id);
  moby::sshforward::v1::CheckAgentResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCheckTimeout);
  grpc::Status st = SSH::NewStub(channel_)->CheckAgent(&ctx, req, &resp);
  if (st.ok()) return Status::OK();
  switch (st.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::UNIMPLEMENTED:
      return NotFoundError("unset ssh forward key " + id);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return FailedPreconditionError(st.error_message());
    default:
      return Status(static_cast<StatusCode>(st.error_code()),
                    "session " + session_id_ + ": CheckAgent " + id + ": " + st.error_message());
  }
}

Status SessionAgentDialer::Forward(const std::string& id, base::UniqueFd conn, int stop_fd) {
  base::UniqueFd reader_done(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!reader_done.valid()) return base::ErrnoStatus("eventfd", "for ssh forwarding", errno);
  grpc::ClientContext ctx;
  ctx.AddMetadata(session::kSshIdKey, id);
  auto stub = SSH::NewStub(channel_);
  auto stream = stub->ForwardAgent(&ctx);

  // The client's agent -> the step's connection; its end closes the connection's write side.
  std::thread reader([&] {
    BytesMessage m;
    while (stream->Read(&m)) {
      bool sent = executor::SendAll(conn.get(), m.data().data(), m.data().size());
      WipeStringBytes(m.mutable_data());
      if (!sent) break;
    }
    WipeStringBytes(m.mutable_data());
    ::shutdown(conn.get(), SHUT_WR);
    uint64_t one = 1;
    (void)!::write(reader_done.get(), &one, sizeof one);
  });

  // The step's connection -> the client's agent, until the step closes it (WritesDone; the
  // agent's answers still come back) or the stream or the forwarder ends.
  bool conn_open = true;
  bool stream_over = false;
  char buf[16384];
  for (;;) {
    pollfd fds[3] = {{conn_open ? conn.get() : -1, POLLIN, 0},
                     {stop_fd, POLLIN, 0},
                     {reader_done.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    if (fds[2].revents) {
      stream_over = true;
      break;
    }
    if (!fds[0].revents) continue;
    ssize_t n = ::read(conn.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      conn_open = false;
      if (!stream->WritesDone()) break;
      continue;
    }
    BytesMessage m;
    m.set_data(buf, static_cast<size_t>(n));
    sodium_memzero(buf, static_cast<size_t>(n));
    bool written = stream->Write(m);
    WipeStringBytes(m.mutable_data());
    if (!written) break;
  }
  sodium_memzero(buf, sizeof buf);
  if (!stream_over) ctx.TryCancel();
  reader.join();
  grpc::Status st = stream->Finish();
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    return Status(static_cast<StatusCode>(st.error_code()),
                  "session " + session_id_ + ": ForwardAgent " + id + ": " + st.error_message());
  }
  return Status::OK();
}

std::string SessionAgentDialer::Location(const std::string&) const { return "client"; }

}  // namespace latchkey::daemon
