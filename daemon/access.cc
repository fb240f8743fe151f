#include "daemon/access.h"

#include <grp.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server_posix.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace latchkey::daemon {
namespace {

// The user of `uid` (name and primary group), or nullopt when the uid has none.
struct User {
  std::string name;
  gid_t gid;
};
std::optional<User> UserOf(uid_t uid) {
  std::vector<char> buf(4096);
  struct passwd pw {};
  struct passwd* out = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) != 0 || out == nullptr) {
    return std::nullopt;
  }
  return User{out->pw_name, out->pw_gid};
}

// True when the caller (uid, connection gid) is in group `gid`: the connection's gid, its
// user's primary group, or a group that lists its user.
bool InGroup(const PeerCred& peer, gid_t gid) {
  if (peer.gid == gid) return true;
  auto user = UserOf(peer.uid);
  if (!user) return false;
  if (user->gid == gid) return true;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (::getgrouplist(user->name.c_str(), user->gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (::getgrouplist(user->name.c_str(), user->gid, groups.data(), &n) < 0) return false;
  }
  groups.resize(static_cast<size_t>(n));
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

}  // namespace

void AccessControl::Set(DaemonConfig config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
}

std::optional<std::string> AccessControl::Refusal(const PeerCred& peer) const {
  std::lock_guard lock(mu_);
  if (config_.allowed_uids.empty() && config_.allowed_groups.empty()) return std::nullopt;
  if (peer.uid == self_) return std::nullopt;
  std::string allowed;
  for (uint32_t u : config_.allowed_uids) {
    if (u == peer.uid) return std::nullopt;
    allowed += (allowed.empty() ? "" : ", ") + std::string("uid ") + std::to_string(u);
  }
  for (const std::string& name : config_.allowed_groups) {
    std::vector<char> buf(16384);
    struct group gr {};
    struct group* out = nullptr;
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &out) == 0 && out != nullptr &&
        InGroup(peer, out->gr_gid)) {
      return std::nullopt;
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string("group ") + name;
  }
  return "uid " + std::to_string(peer.uid) + " may not use latchkeyd (allowed: " + allowed + ")";
}

class RefusalServer::Service final : public grpc::CallbackGenericService {
 public:
  explicit Service(const RefusalServer* owner) : owner_(owner) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(std::string message) {
        Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, std::move(message)));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(owner_->MessageFor(ctx->peer()));
  }

 private:
  const RefusalServer* owner_;
};

Result<std::unique_ptr<RefusalServer>> RefusalServer::Start() {
  std::unique_ptr<RefusalServer> r(new RefusalServer());
  r->service_ = std::make_unique<Service>(r.get());
  grpc::ServerBuilder b;
  b.RegisterCallbackGenericService(r->service_.get());
  r->server_ = b.BuildAndStart();
  if (r->server_ == nullptr) return InternalError("cannot start the refusal gRPC server");
  return r;
}

void RefusalServer::Refuse(int fd, std::string message) {
  {
    std::lock_guard lock(mu_);
    messages_[PeerRegistry::PeerName(fd)] = std::move(message);
  }
  grpc::AddInsecureChannelFromFd(server_.get(), fd);
}

std::string RefusalServer::MessageFor(const std::string& grpc_peer) const {
  std::lock_guard lock(mu_);
  auto it = messages_.find(grpc_peer);
  return it == messages_.end() ? std::string("this caller may not use latchkeyd") : it->second;
}

void RefusalServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

RefusalServer::~RefusalServer() { Shutdown(); }

}  // namespace latchkey::daemon
