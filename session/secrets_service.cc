#include "session/secrets_service.h"

#include <sodium.h>

#include <thread>

namespace latchkey::session {
namespace {

using moby::buildkit::secrets::v1::GetSecretResponse;

// Wipes the response's value once gRPC is done with the message; finished by the handler or,
// for a lookup, from the lookup's thread.
class WipingReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit WipingReactor(GetSecretResponse* response) : response_(response) {}
  void OnDone() override {
    std::string* data = response_->mutable_data();
    sodium_memzero(data->data(), data->size());
    data->clear();
    delete this;
  }

 private:
  GetSecretResponse* response_;
};

grpc::ServerUnaryReactor* Finished(GetSecretResponse* response, const grpc::Status& status) {
  auto* r = new WipingReactor(response);
  r->Finish(status);
  return r;
}

}  // namespace

Status SecretsService::Add(const std::string& id, std::shared_ptr<const SecretBuffer> value) {
  if (id.empty()) return InvalidArgumentError("secret missing ID");
  if (value != nullptr && value->size() > kMaxSecretSize) {
    return InvalidArgumentError("secret " + id + " too big. max size 500KiB");
  }
  if (!values_.emplace(id, std::move(value)).second) {
    return AlreadyExistsError("secret " + id + " is already served by this session");
  }
  return Status::OK();
}

SecretsService::~SecretsService() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

grpc::ServerUnaryReactor* SecretsService::GetSecret(
    grpc::CallbackServerContext*, const moby::buildkit::secrets::v1::GetSecretRequest* request,
    GetSecretResponse* response) {
  if (lookup_) {
    auto* reactor = new WipingReactor(response);
    std::string id = request->id();
    std::map<std::string, std::string> annotations(request->annotations().begin(),
                                                   request->annotations().end());
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++running_;
    }
    std::thread([this, reactor, response, id = std::move(id),
                 annotations = std::move(annotations)] {
      Result<std::shared_ptr<const SecretBuffer>> value = lookup_(id, annotations);
      if (!value.ok()) {
        const Status& st = value.status();
        reactor->Finish(st.code() == StatusCode::kNotFound
                            ? grpc::Status(grpc::StatusCode::NOT_FOUND, "not found")
                            : grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message()));
      } else if (*value != nullptr && (*value)->size() > kMaxSecretSize) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "secret " + id + " too big. max size 500KiB"));
      } else {
        if (*value != nullptr) {
          response->set_data(reinterpret_cast<const char*>((*value)->data()), (*value)->size());
        }
        served_.fetch_add(1);
        reactor->Finish(grpc::Status::OK);
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (--running_ == 0) idle_.notify_all();
    }).detach();
    return reactor;
  }
  auto it = values_.find(request->id());
  if (it == values_.end()) {
    return Finished(response, grpc::Status(grpc::StatusCode::NOT_FOUND, "not found"));
  }
  if (it->second != nullptr) {
    response->set_data(reinterpret_cast<const char*>(it->second->data()), it->second->size());
  }
  served_.fetch_add(1);
  return Finished(response, grpc::Status::OK);
}

}  // namespace latchkey::session
