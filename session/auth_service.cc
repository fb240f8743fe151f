#include "session/auth_service.h"

namespace latchkey::session {

grpc::ServerUnaryReactor* AuthService::Credentials(
    grpc::CallbackServerContext*, const moby::filesync::v1::CredentialsRequest* request,
    moby::filesync::v1::CredentialsResponse* response) {
  auto* reactor = new WipingReactor({response->mutable_username(), response->mutable_secret()});
  std::string host = request->host();
  if (host == "registry-1.docker.io" || host == "index.docker.io") host = "docker.io";
  lookups_.Run([this, reactor, response, host = std::move(host)] {
    Result<RegistryLogin> login = lookup_(host);
    if (login.ok()) {
      if (login->username != nullptr) {
        response->set_username(reinterpret_cast<const char*>(login->username->data()),
                               login->username->size());
      }
      if (login->secret != nullptr) {
        response->set_secret(reinterpret_cast<const char*>(login->secret->data()),
                             login->secret->size());
      }
      served_.fetch_add(1);
      reactor->Finish(grpc::Status::OK);
    } else if (login.status().code() == StatusCode::kNotFound) {
      reactor->Finish(grpc::Status::OK);  // anonymous
    } else {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(login.status().code()),
                                   login.status().message()));
    }
  });
  return reactor;
}

}  // namespace latchkey::session
