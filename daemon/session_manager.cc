#include "daemon/session_manager.h"

#include <sodium.h>

#include "api/moby/buildkit/secrets/v1/secrets.grpc.pb.h"
#include "session/secrets_service.h"

namespace latchkey::daemon {

namespace secrets = moby::buildkit::secrets::v1;

Status SessionManager::Add(SessionInfo info, std::shared_ptr<grpc::Channel> channel,
                           std::function<void()> close) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return UnavailableError("latchkeyd is shutting down");
  std::string id = info.id;
  if (sessions_.count(id) != 0) return AlreadyExistsError("session " + id + " already exists");
  auto e = std::make_shared<Entry>();
  e->info = std::move(info);
  e->channel = std::move(channel);
  e->close = std::move(close);
  sessions_.emplace(id, std::move(e));
  changed_.notify_all();
  return Status::OK();
}

void SessionManager::Remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(id);
  changed_.notify_all();
}

bool SessionManager::WaitFor(const std::string& id, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_until(lock, deadline, [&] { return sessions_.count(id) != 0; });
}

Result<SecretBuffer> SessionManager::GetSecret(const std::string& session_id,
                                               const std::string& secret_id,
                                               Clock::time_point deadline) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return NotFoundError("no active session for " + session_id);
    e = it->second;
  }
  secrets::GetSecretRequest req;
  req.set_id(secret_id);
  secrets::GetSecretResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline);
  grpc::Status st = secrets::Secrets::NewStub(e->channel)->GetSecret(&ctx, req, &resp);
  // The one std::string copy protobuf forces: copied into secure memory, then wiped.
  std::string* data = resp.mutable_data();
  struct Wipe {
    std::string* s;
    ~Wipe() {
      sodium_memzero(s->data(), s->size());
      s->clear();
    }
  } wipe{data};
  if (!st.ok()) {
    if (st.error_code() == grpc::StatusCode::NOT_FOUND ||
        st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return NotFoundError("secret " + secret_id + ": not found");
    }
    return Status(static_cast<StatusCode>(st.error_code()),
                  "session " + session_id + ": GetSecret " + secret_id + ": " + st.error_message());
  }
  if (data->size() > session::kMaxSecretSize) {
    return ResourceExhaustedError("secret " + secret_id + " from session " + session_id + ": " +
                                  std::to_string(data->size()) + " bytes is over the " +
                                  std::to_string(session::kMaxSecretSize) + "-byte limit");
  }
  return SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data->data()), data->size()));
}

std::shared_ptr<grpc::Channel> SessionManager::Channel(const std::string& id,
                                                       SessionInfo* info) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  if (info != nullptr) *info = it->second->info;
  return it->second->channel;
}

void SessionManager::CloseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [id, e] : sessions_) {
    if (e->close) e->close();
  }
}

size_t SessionManager::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

std::vector<SessionInfo> SessionManager::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SessionInfo> out;
  for (const auto& [id, e] : sessions_) out.push_back(e->info);
  return out;
}

}  // namespace latchkey::daemon
