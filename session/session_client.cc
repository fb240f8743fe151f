#include "session/session_client.h"

#include <errno.h>
#include <sys/socket.h>

#include "secure/secret_buffer.h"
#include "session/metadata.h"
#include "session/tunnel_pump.h"

namespace latchkey::session {

Result<std::unique_ptr<SessionClient>> SessionClient::Open(
    std::shared_ptr<grpc::Channel> daemon, const SessionOptions& options,
    const std::vector<ServedService>& services) {
  if (options.id.empty()) return InvalidArgumentError("session: the session id is empty");
  // Nothing is owned by a SessionClient until the call is started (its destructor ends it).
  LK_ASSIGN_OR_RETURN(std::unique_ptr<TunnelServer> server,
                      TunnelServer::Start(options.id, services));
  LK_ASSIGN_OR_RETURN(auto pair, MakeTunnelSocketPair());
  std::unique_ptr<SessionClient> c(new SessionClient());
  c->id_ = options.id;
  c->server_ = std::move(server);
  c->server_->Serve(std::move(pair.first));
  c->pump_fd_ = std::move(pair.second);

  c->context_.AddMetadata(kSessionIdKey, options.id);
  if (!options.name.empty()) c->context_.AddMetadata(kSessionNameKey, options.name);
  if (!options.shared_key.empty())
    c->context_.AddMetadata(kSessionSharedKeyKey, options.shared_key);
  for (const auto& m : c->server_->methods()) c->context_.AddMetadata(kSessionMethodKey, m);

  c->stub_ = latchkey::v1::Control::NewStub(std::move(daemon));
  c->stub_->async()->Session(&c->context_, c.get());
  c->AddHold();  // the pump's: it may start writes until it ends
  c->StartRead(&c->in_);
  c->StartCall();
  c->started_ = true;
  SessionClient* self = c.get();
  c->pump_ = std::thread([self] { self->Pump(); });
  return c;
}

void SessionClient::OnReadDone(bool ok) {
  if (ok) {
    // On the thread that read the message from the connection: no hand-off to another thread.
    const std::string& data = in_.data();
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(pump_fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    bool sent = off == data.size();
    WipeStringBytes(in_.mutable_data());
    if (sent) {
      StartRead(&in_);
      return;
    }
    // The tunnel server's end is gone: stop reading; the pump sees the end and half-closes.
  }
  // The daemon ended the call (or Close cancelled it): the tunnel server and the pump see EOF.
  ShutdownTunnelSocket(pump_fd_.get());
}

void SessionClient::OnWriteDone(bool ok) { out_.WriteDone(ok); }

void SessionClient::Pump() {
  PumpSocketToStream(pump_fd_.get(), [this](const latchkey::v1::BytesMessage& m) {
    return out_.Push(m.data().data(), m.data().size());
  });
  // The tunnel server's socket ended: half-close the call once the queue is written.
  out_.Drain();
  RemoveHold();
}

void SessionClient::OnDone(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
  done_ = true;
  done_cv_.notify_all();
}

void SessionClient::Finish() {
  std::lock_guard<std::mutex> finish_lock(finish_mu_);
  if (finished_ || !started_) return;
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return done_; });
  }
  ShutdownTunnelSocket(pump_fd_.get());
  if (pump_.joinable()) pump_.join();
  out_.Close();
  const grpc::Status& st = status_;
  if (!st.ok()) {
    final_ =
        Status(static_cast<StatusCode>(st.error_code()),
               "session " + id_ + ": " + StatusCodeName(static_cast<StatusCode>(st.error_code())) +
                   ": " + st.error_message());
  }
  server_->Shutdown();
  finished_ = true;
}

Status SessionClient::Wait() {
  Finish();
  std::lock_guard<std::mutex> lock(finish_mu_);
  return final_;
}

void SessionClient::Close() {
  context_.TryCancel();
  Finish();
}

SessionClient::~SessionClient() { Close(); }

}  // namespace latchkey::session
