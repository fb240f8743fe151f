#include "session/secrets_service.h"

#include <sodium.h>

namespace latchkey::session {
namespace {

using moby::buildkit::secrets::v1::GetSecretResponse;

// Finishes with `status` and wipes the response's value once gRPC is done with the message.
class WipingReactor final : public grpc::ServerUnaryReactor {
 public:
  WipingReactor(GetSecretResponse* response, const grpc::Status& status) : response_(response) {
    Finish(status);
  }
  void OnDone() override {
    std::string* data = response_->mutable_data();
    sodium_memzero(data->data(), data->size());
    data->clear();
    delete this;
  }

 private:
  GetSecretResponse* response_;
};

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

grpc::ServerUnaryReactor* SecretsService::GetSecret(
    grpc::CallbackServerContext*, const moby::buildkit::secrets::v1::GetSecretRequest* request,
    GetSecretResponse* response) {
  auto it = values_.find(request->id());
  if (it == values_.end()) {
    return new WipingReactor(response, grpc::Status(grpc::StatusCode::NOT_FOUND, "not found"));
  }
  if (it->second != nullptr) {
    response->set_data(reinterpret_cast<const char*>(it->second->data()), it->second->size());
  }
  served_.fetch_add(1);
  return new WipingReactor(response, grpc::Status::OK);
}

}  // namespace latchkey::session
