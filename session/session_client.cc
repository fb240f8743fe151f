#include "session/session_client.h"

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
  c->stream_ = c->stub_->Session(&c->context_);
  SessionClient* self = c.get();
  c->to_socket_ = std::thread([self] {
    PumpStreamToSocket([self](latchkey::v1::BytesMessage* m) { return self->stream_->Read(m); },
                       self->pump_fd_.get());
    // The daemon ended the call (or Close cancelled it): the tunnel server sees EOF.
    ShutdownTunnelSocket(self->pump_fd_.get());
  });
  c->to_stream_ = std::thread([self] {
    PumpSocketToStream(self->pump_fd_.get(), [self](const latchkey::v1::BytesMessage& m) {
      return self->stream_->Write(m);
    });
    self->stream_->WritesDone();
  });
  return c;
}

void SessionClient::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  if (to_socket_.joinable()) to_socket_.join();
  ShutdownTunnelSocket(pump_fd_.get());
  if (to_stream_.joinable()) to_stream_.join();
  grpc::Status st = stream_->Finish();
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
  std::lock_guard<std::mutex> lock(mu_);
  return final_;
}

void SessionClient::Close() {
  context_.TryCancel();
  Finish();
}

SessionClient::~SessionClient() { Close(); }

}  // namespace latchkey::session
