#include "session/tunnel_server.h"

#include <fcntl.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_posix.h>

#include <algorithm>

namespace latchkey::session {

Result<std::vector<std::string>> TunnelServer::MethodNames(
    const std::vector<ServedService>& services) {
  std::vector<std::string> out;
  for (const auto& s : services) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(s.full_name);
    if (d == nullptr) {
      return InvalidArgumentError("session: unknown service " + s.full_name +
                                  " (not in the generated protobuf descriptors)");
    }
    if (s.methods.empty()) {
      for (int i = 0; i < d->method_count(); ++i) {
        out.push_back("/" + d->full_name() + "/" + d->method(i)->name());
      }
    }
    for (const auto& m : s.methods) {
      if (d->FindMethodByName(m) == nullptr) {
        return InvalidArgumentError("session: service " + s.full_name + " has no method " + m);
      }
      out.push_back("/" + d->full_name() + "/" + m);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<TunnelServer>> TunnelServer::Start(
    const std::string& session_id, const std::vector<ServedService>& services) {
  std::unique_ptr<TunnelServer> t(new TunnelServer());
  LK_ASSIGN_OR_RETURN(t->methods_, MethodNames(services));
  // BuildKit checks a session's health every second and drops one that does not answer.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  for (const auto& s : services) builder.RegisterService(s.service);
  builder.RegisterCallbackGenericService(&t->unknown_methods_);
  t->server_ = builder.BuildAndStart();
  if (t->server_ == nullptr) {
    return InternalError("session " + session_id + ": cannot start the tunnel's gRPC server");
  }
  return t;
}

void TunnelServer::Serve(base::UniqueFd fd) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  grpc::AddInsecureChannelFromFd(server_.get(), fd.release());
}

void TunnelServer::Shutdown(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

TunnelServer::~TunnelServer() { Shutdown(); }

}  // namespace latchkey::session
