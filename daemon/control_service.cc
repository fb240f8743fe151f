#include "daemon/control_service.h"

#include <unistd.h>

#include "builder/image/image_ref.h"
#include "builder/solver/image_remove.h"
#include "daemon/build_call.h"
#include "daemon/gc_call.h"
#include "daemon/session_reactor.h"
#include "session/metadata.h"

namespace latchkey::daemon {
namespace {

using latchkey::v1::BytesMessage;

// All values of metadata key `key`, in order.
std::vector<std::string> MetadataValues(const grpc::ServerContextBase& context, const char* key) {
  std::vector<std::string> out;
  auto range = context.client_metadata().equal_range(key);
  for (auto it = range.first; it != range.second; ++it) {
    out.emplace_back(it->second.data(), it->second.size());
  }
  return out;
}

std::string FirstMetadata(const grpc::ServerContextBase& context, const char* key) {
  auto v = MetadataValues(context, key);
  return v.empty() ? std::string() : v.front();
}

}  // namespace

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

void ControlService::SetProviders(std::vector<std::string> providers) {
  std::lock_guard lock(mu_);
  info_.providers = std::move(providers);
}

grpc::Status ControlService::Info(grpc::ServerContext* context, const latchkey::v1::InfoRequest*,
                                  latchkey::v1::InfoResponse* response) {
  response->set_version(info_.version);
  response->set_state_dir(info_.state_dir);
  {
    std::lock_guard lock(mu_);
    for (const auto& p : info_.providers) response->add_providers(p);
  }
  response->set_audit_signing_key_id(info_.audit_signing_key_id);
  if (peers_ != nullptr) {
    if (auto peer = peers_->Identify(*context)) {
      auto* p = response->mutable_peer();
      if (peer->uid >= 0) {
        p->set_uid(static_cast<uint32_t>(peer->uid));
        p->set_gid(static_cast<uint32_t>(peer->gid));
        p->set_pid(static_cast<int32_t>(peer->pid));
      }
      p->set_user(peer->user);
      p->set_transport(peer->transport);
      p->set_client_cn(peer->client_cn);
      p->set_address(peer->address);
    }
  }
  response->set_pid(static_cast<int32_t>(::getpid()));
  response->set_open_sessions(static_cast<uint32_t>(sessions_->size()));
  return grpc::Status::OK;
}

grpc::Status ControlService::Images(grpc::ServerContext*, const latchkey::v1::ImagesRequest*,
                                    latchkey::v1::ImagesResponse* response) {
  auto list = images_->List();
  if (!list.ok()) return ToGrpc(list.status());
  for (const auto& si : *list) {
    auto* img = response->add_images();
    img->set_ref(si.ref);
    img->set_id(si.image.config_digest);
    img->set_manifest_digest(si.image.manifest_digest);
    img->set_created(si.image.config.created);
    img->set_size(si.image.LayersSize());
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::RemoveImage(grpc::ServerContext*,
                                         const latchkey::v1::RemoveImageRequest* request,
                                         latchkey::v1::RemoveImageResponse* response) {
  auto removed = build::RemoveImageAndFree(*images_, request->ref());
  if (!removed.ok()) return ToGrpc(removed.status());
  response->set_untagged(removed->untagged);
  for (const auto& id : removed->deleted) response->add_deleted(id);
  response->set_storage_deferred(removed->storage_deferred);
  return grpc::Status::OK;
}

grpc::Status ControlService::DiskUsage(grpc::ServerContext*, const latchkey::v1::DiskUsageRequest*,
                                       latchkey::v1::DiskUsageResponse* response) {
  return ServeDiskUsage(images_->state_dir(), response);
}

grpc::Status ControlService::Prune(grpc::ServerContext* context,
                                   const latchkey::v1::PruneRequest* request,
                                   latchkey::v1::PruneResponse* response) {
  std::optional<audit::PeerInfo> peer;
  if (peers_ != nullptr) peer = peers_->Identify(*context);
  PruneWaitEnd end;
  end.cancelled = [context] { return context->IsCancelled(); };
  end.stopping = [this] { return running_ != nullptr && running_->stopping(); };
  return ServePrune(images_->state_dir(), *request, DescribeCaller(peer), end, response);
}

grpc::ServerBidiReactor<BytesMessage, BytesMessage>* ControlService::Session(
    grpc::CallbackServerContext* context) {
  SessionInfo info;
  info.id = FirstMetadata(*context, session::kSessionIdKey);
  if (info.id.empty()) {
    class Refused final : public grpc::ServerBidiReactor<BytesMessage, BytesMessage> {
     public:
      Refused() {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            std::string("session: missing metadata ") + session::kSessionIdKey));
      }
      void OnDone() override { delete this; }
    };
    return new Refused();
  }
  info.name = FirstMetadata(*context, session::kSessionNameKey);
  info.shared_key = FirstMetadata(*context, session::kSessionSharedKeyKey);
  info.methods = MetadataValues(*context, session::kSessionMethodKey);
  if (peers_ != nullptr) info.peer = peers_->Identify(*context);
  return SessionReactor::Start(sessions_, std::move(info));
}

grpc::Status ControlService::Build(grpc::ServerContext* context,
                                   const latchkey::v1::BuildRequest* request,
                                   grpc::ServerWriter<latchkey::v1::BuildResponse>* writer) {
  std::optional<PeerCred> peer = peers_ ? peers_->Lookup(context->peer()) : std::nullopt;
  return ServeBuild(runner_, broker_, running_, *sessions_, info_.state_dir, peer, context,
                    *request, writer);
}

}  // namespace latchkey::daemon
