// ControlService: latchkeyd's latchkey.v1.Control (api/latchkey/v1/control.proto,
// docs/daemon.md): Info, Images, RemoveImage, DiskUsage, Prune, Build, and Session, the tunnel
// on which the client serves BuildKit's session services to the daemon.
//
// Session: the handler reads the session's metadata (session/metadata.h) and hands the call to
// a SessionReactor (session_reactor.h), which opens a gRPC channel on one end of a socketpair
// (the daemon is the gRPC *client* of the tunnel), registers it in the SessionManager, and
// copies bytes between the other end and the call. The session ends when either side ends: the
// client closes or cancels the call, the tunnel's HTTP/2 connection fails (e.g. garbage bytes
// from the client), or SessionManager::CloseAll. Its calls in flight then fail with UNAVAILABLE.
//
// Thread-safety: gRPC calls the handlers concurrently; the service holds no mutable state of
// its own beyond the thread-safe SessionManager, PeerRegistry and ImageStore.
#ifndef LATCHKEY_DAEMON_CONTROL_SERVICE_H_
#define LATCHKEY_DAEMON_CONTROL_SERVICE_H_

#include <mutex>
#include <string>
#include <vector>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "builder/image/image_store.h"
#include "daemon/build_runner.h"
#include "daemon/peer.h"
#include "daemon/running_builds.h"
#include "daemon/session_manager.h"

namespace latchkey::daemon {

// What Info reports about this daemon (fixed at start).
struct DaemonInfo {
  std::string version;
  std::string state_dir;
  std::vector<std::string> providers;
  std::string audit_signing_key_id;
};

// Info, Images, RemoveImage, DiskUsage, Prune and Build are synchronous handlers; Session uses
// the callback API
// (session_reactor.h), so an idle session holds no gRPC thread.
class ControlService final
    : public latchkey::v1::Control::WithCallbackMethod_Session<latchkey::v1::Control::Service> {
 public:
  // None of the pointers is owned; all must outlive the service. `peers` may be null (calls
  // then report no peer identity).
  ControlService(DaemonInfo info, SessionManager* sessions, image::ImageStore* images,
                 const PeerRegistry* peers)
      : info_(std::move(info)), sessions_(sessions), images_(images), peers_(peers) {}

  // The configured provider names Info reports, after a reload (SIGHUP).
  void SetProviders(std::vector<std::string> providers);

  grpc::Status Info(grpc::ServerContext* context, const latchkey::v1::InfoRequest* request,
                    latchkey::v1::InfoResponse* response) override;
  grpc::Status Images(grpc::ServerContext* context, const latchkey::v1::ImagesRequest* request,
                      latchkey::v1::ImagesResponse* response) override;
  // As `latchkey image rm` (builder/solver/image_remove.h): untags, then frees the storage
  // nothing else references. INVALID_ARGUMENT for a malformed ref (the reference parser's
  // text), NOT_FOUND with the image store's text when the tag is absent.
  grpc::Status RemoveImage(grpc::ServerContext* context,
                           const latchkey::v1::RemoveImageRequest* request,
                           latchkey::v1::RemoveImageResponse* response) override;
  // The session's call. Its status: INVALID_ARGUMENT "session: missing metadata
  // x-docker-expose-session-uuid"; ALREADY_EXISTS "session <id> already exists"; UNAVAILABLE
  // "latchkeyd is shutting down"; then those of session_reactor.h.
  grpc::ServerBidiReactor<latchkey::v1::BytesMessage, latchkey::v1::BytesMessage>* Session(
      grpc::CallbackServerContext* context) override;
  // `latchkey du` of the builder state directory (gc_call.h).
  grpc::Status DiskUsage(grpc::ServerContext* context,
                         const latchkey::v1::DiskUsageRequest* request,
                         latchkey::v1::DiskUsageResponse* response) override;
  // `latchkey prune` / `image prune` of the builder state directory (gc_call.h): safe against
  // the daemon's running builds (they hold the GC lock shared); allowed to every admitted caller,
  // as RemoveImage (access.h admits callers per connection); logged with the caller.
  grpc::Status Prune(grpc::ServerContext* context, const latchkey::v1::PruneRequest* request,
                     latchkey::v1::PruneResponse* response) override;
  // A build (build_call.h): UNIMPLEMENTED until SetBuildRunner.
  grpc::Status Build(grpc::ServerContext* context, const latchkey::v1::BuildRequest* request,
                     grpc::ServerWriter<latchkey::v1::BuildResponse>* writer) override;

  // Enables Build: `runner` (not owned, outlives the service) runs the builds with sessions of
  // `broker`, registered in `running` while they run (both not owned, outlive the service).
  // Call before
  // serving.
  void SetBuildRunner(BuildRunner* runner, BrokerHost* broker, RunningBuilds* running) {
    runner_ = runner;
    broker_ = broker;
    running_ = running;
  }

 private:
  mutable std::mutex mu_;  // guards info_.providers
  DaemonInfo info_;
  SessionManager* sessions_;
  image::ImageStore* images_;
  const PeerRegistry* peers_;
  BuildRunner* runner_ = nullptr;
  BrokerHost* broker_ = nullptr;      // the builds' broker (not owned)
  RunningBuilds* running_ = nullptr;  // the builds in progress (not owned)
};

// A latchkey Status as a grpc::Status (same code numbers, same message).
grpc::Status ToGrpc(const Status& status);

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_CONTROL_SERVICE_H_
