#include "daemon/daemon.h"

#include "base/file.h"

namespace latchkey::daemon {

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  LK_RETURN_IF_ERROR(base::MakeDirs(options.info.state_dir, 0700));
  LK_ASSIGN_OR_RETURN(StateDirLock lock, StateDirLock::Acquire(options.info.state_dir));
  std::unique_ptr<Daemon> d(new Daemon(std::move(lock)));
  LK_ASSIGN_OR_RETURN(image::ImageStore store, image::ImageStore::Open(options.builder_state_dir));
  d->images_.emplace(std::move(store));
  LK_ASSIGN_OR_RETURN(d->listener_, UnixListener::Open(options.socket_path));
  d->control_ =
      std::make_unique<ControlService>(options.info, &d->sessions_, &*d->images_, &d->peers_);
  d->control_->SetBuildRunner(options.builds);
  grpc::ServerBuilder builder;
  builder.RegisterService(d->control_.get());
  d->server_ = builder.BuildAndStart();
  if (d->server_ == nullptr) return InternalError("cannot start the gRPC server");
  d->listener_->Start(d->server_.get(), &d->peers_);
  return d;
}

void Daemon::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (listener_) listener_->Stop();
  sessions_.CloseAll();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace latchkey::daemon
