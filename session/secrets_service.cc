#include "session/secrets_service.h"

namespace latchkey::session {
namespace {

using moby::buildkit::secrets::v1::GetSecretResponse;

grpc::ServerUnaryReactor* Finished(GetSecretResponse* response, const grpc::Status& status) {
  auto* r = new WipingReactor({response->mutable_data()});
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

grpc::ServerUnaryReactor* SecretsService::GetSecret(
    grpc::CallbackServerContext*, const moby::buildkit::secrets::v1::GetSecretRequest* request,
    GetSecretResponse* response) {
  if (lookup_) {
    auto* reactor = new WipingReactor({response->mutable_data()});
    std::string id = request->id();
    std::map<std::string, std::string> annotations(request->annotations().begin(),
                                                   request->annotations().end());
    lookups_.Run([this, reactor, response, id = std::move(id),
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
    });
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
