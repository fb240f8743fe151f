// Test helpers: a real ControlService served over a real unix socket in a temporary directory,
// and client-side helpers. For daemon/*_test.cc and bench/getsecret_bench.cc.
#ifndef LATCHKEY_DAEMON_DAEMON_TESTUTIL_H_
#define LATCHKEY_DAEMON_DAEMON_TESTUTIL_H_

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/file.h"
#include "builder/image/image_store.h"
#include "daemon/control_service.h"
#include "daemon/listener.h"
#include "daemon/peer.h"
#include "daemon/session_manager.h"

namespace latchkey::daemon {

// Serves a ControlService (image store in a temp dir) on "<tmp>/d.sock". Aborts the test
// binary when any part cannot start (the environment is broken, not the code under test).
class TestDaemon {
 public:
  TestDaemon() {
    auto dir = base::MakeTempDir("/tmp", "latchkeyd-test-");
    if (!dir.ok()) std::abort();
    dir_ = *dir;
    auto store = image::ImageStore::Open(dir_ + "/builder");
    if (!store.ok()) std::abort();
    images_.emplace(std::move(*store));
    DaemonInfo info{"latchkey test", dir_, {"file", "env", "store"}, ""};
    control_ = std::make_unique<ControlService>(info, &sessions_, &*images_, &peers_);
    auto l = UnixListener::Open(dir_ + "/d.sock");
    if (!l.ok()) std::abort();
    listener_ = std::move(*l);
    grpc::ServerBuilder b;
    b.RegisterService(control_.get());
    server_ = b.BuildAndStart();
    if (server_ == nullptr) std::abort();
    listener_->Start(server_.get(), &peers_);
  }
  ~TestDaemon() {
    listener_->Stop();
    sessions_.CloseAll();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
    (void)base::RemoveAll(dir_);
  }

  const std::string& dir() const { return dir_; }
  std::string socket_path() const { return dir_ + "/d.sock"; }
  std::string target() const { return "unix://" + socket_path(); }
  std::shared_ptr<grpc::Channel> Connect() const {
    return grpc::CreateChannel(target(), grpc::InsecureChannelCredentials());
  }
  SessionManager& sessions() { return sessions_; }
  image::ImageStore& images() { return *images_; }

  static std::chrono::system_clock::time_point In(int seconds) {
    return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  }

 private:
  std::string dir_;
  std::optional<image::ImageStore> images_;
  SessionManager sessions_;
  PeerRegistry peers_;
  std::unique_ptr<ControlService> control_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UnixListener> listener_;
};

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_DAEMON_TESTUTIL_H_
