#include "daemon/session_reactor.h"

#include <errno.h>
#include <grpcpp/create_channel_posix.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/control_service.h"
#include "session/tunnel_pump.h"

namespace latchkey::daemon {
namespace {

void Wipe(latchkey::v1::BytesMessage* m) {
  std::string* s = m->mutable_data();
  s->resize(s->capacity());
  sodium_memzero(s->data(), s->size());
  s->clear();
}

}  // namespace

SessionReactor* SessionReactor::Start(SessionManager* sessions, SessionInfo info) {
  auto* r = new SessionReactor(sessions);
  r->id_ = info.id;
  auto pair = session::MakeTunnelSocketPair();
  if (!pair.ok()) {
    r->End(ToGrpc(pair.status().WithPrefix("session " + info.id)));
    return r;
  }
  r->fd_ = std::move(pair->second);
  grpc::ChannelArguments args;
  // One connection, never re-dialled: when it breaks, the session is over.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  r->channel_ =
      grpc::CreateCustomInsecureChannelFromFd("session:" + info.id, pair->first.release(), args);
  // Called under the manager's lock: End must not unregister (Remove takes that lock).
  Status added = sessions->Add(std::move(info), r->channel_, [r] {
    r->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "latchkeyd is shutting down"),
           /*unregister=*/false);
  });
  if (!added.ok()) {
    r->End(ToGrpc(added));
    return r;
  }
  r->registered_ = true;
  r->pump_ = std::thread([r] { r->PumpToClient(); });
  r->StartRead(&r->in_);
  return r;
}

void SessionReactor::OnReadDone(bool ok) {
  if (!ok) {  // the client half-closed, cancelled or went away
    End(grpc::Status::OK);
    return;
  }
  const std::string& data = in_.data();
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the tunnel is down: the pump sees it and ends the session
    off += static_cast<size_t>(n);
  }
  Wipe(&in_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!ended_) StartRead(&in_);
}

void SessionReactor::PumpToClient() {
  session::PumpSocketToStream(fd_.get(), [this](const latchkey::v1::BytesMessage& m) {
    return out_.Push(m.data().data(), m.data().size());
  });
  // EOF from the channel's side: its transport dropped the connection (or End shut it down).
  End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                   "session " + id_ +
                       ": the tunnelled HTTP/2 connection failed (the client's bytes are not an "
                       "HTTP/2 gRPC server's)"));
}

void SessionReactor::OnWriteDone(bool ok) { out_.WriteDone(ok); }

void SessionReactor::OnCancel() { End(grpc::Status::CANCELLED); }

void SessionReactor::End(const grpc::Status& status, bool unregister) {
  // Unregistered before the status goes out, so that a client that sees its call end finds
  // the session gone. Outside mu_: the manager's lock is taken before mu_ (CloseAll).
  if (unregister && registered_) sessions_->Remove(id_);
  // No write starts after this (the queue's lock orders it before Finish); a blocked pump
  // returns.
  out_.Close();
  // gRPC never runs a reaction inline from StartWrite, StartRead or Finish, so holding mu_
  // across them cannot deadlock; it keeps every Start* after Finish out.
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_) return;
  ended_ = true;
  session::ShutdownTunnelSocket(fd_.get());
  Finish(status);
}

void SessionReactor::OnDone() {
  // Unregistered before anything is freed: once Remove returns, the manager's close callback
  // (End on this reactor) is neither running nor called again.
  if (registered_) sessions_->Remove(id_);
  session::ShutdownTunnelSocket(fd_.get());
  if (pump_.joinable()) pump_.join();
  channel_.reset();
  delete this;
}

}  // namespace latchkey::daemon
