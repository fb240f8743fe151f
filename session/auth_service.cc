#include "session/auth_service.h"

#include <sodium.h>

#include <thread>

namespace latchkey::session {
namespace {

using moby::filesync::v1::CredentialsResponse;

void Wipe(std::string* s) {
  sodium_memzero(s->data(), s->size());
  s->clear();
}

// Finished from the lookup's thread; wipes the answer once gRPC is done with it.
class WipingReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit WipingReactor(CredentialsResponse* response) : response_(response) {}
  void OnDone() override {
    Wipe(response_->mutable_username());
    Wipe(response_->mutable_secret());
    delete this;
  }

 private:
  CredentialsResponse* response_;
};

}  // namespace

AuthService::~AuthService() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

grpc::ServerUnaryReactor* AuthService::Credentials(
    grpc::CallbackServerContext*, const moby::filesync::v1::CredentialsRequest* request,
    CredentialsResponse* response) {
  auto* reactor = new WipingReactor(response);
  std::string host = request->host();
  if (host == "registry-1.docker.io" || host == "index.docker.io") host = "docker.io";
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++running_;
  }
  std::thread([this, reactor, response, host = std::move(host)] {
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
    std::lock_guard<std::mutex> lock(mu_);
    if (--running_ == 0) idle_.notify_all();
  }).detach();
  return reactor;
}

}  // namespace latchkey::session
