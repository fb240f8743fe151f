#include "session/ssh_service.h"

#include <poll.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>

#include "base/unique_fd.h"
#include "base/unix_address.h"
#include "secure/secret_buffer.h"

namespace latchkey::session {

namespace {

using moby::sshforward::v1::BytesMessage;
using moby::sshforward::v1::CheckAgentRequest;
using moby::sshforward::v1::CheckAgentResponse;

// A connection to the agent socket `path`; on failure, "connect <path>: <strerror>". With
// `nonblocking`, a full listen backlog (EAGAIN) counts as reachable (an empty descriptor).
std::optional<base::UniqueFd> ConnectAgent(const std::string& path, bool nonblocking,
                                           std::string* error) {
  auto addr = base::UnixAddress(path);
  if (!addr) {
    *error = "unix socket path " + path + " is too long";
    return std::nullopt;
  }
  base::UniqueFd fd(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!fd.valid()) {
    *error = std::string("socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    if (nonblocking && errno == EAGAIN) return base::UniqueFd();
    *error = "connect " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return fd;
}

// Writes all of `data` to the socket `fd` (no SIGPIPE when the agent has gone).
bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, grpc::Status status) {
  auto* r = context->DefaultReactor();
  r->Finish(std::move(status));
  return r;
}

}  // namespace

Status SshService::Check(const std::string& id) const {
  auto it = agents_.find(id);
  if (it == agents_.end()) return NotFoundError("unset ssh forward key " + id);
  std::string error;
  if (!ConnectAgent(it->second, /*nonblocking=*/true, &error)) {
    auto colon = error.rfind(": ");
    return FailedPreconditionError("ssh agent socket " + it->second + " for \"" + id +
                                   "\" is not usable: " + error.substr(colon + 2));
  }
  return Status::OK();
}

grpc::ServerUnaryReactor* SshService::CheckAgent(grpc::CallbackServerContext* context,
                                                 const CheckAgentRequest* request,
                                                 CheckAgentResponse*) {
  std::string id = request->id().empty() ? kDefaultSshId : request->id();
  Status answer = Check(id);
  if (recorder_) {
    auto it = agents_.find(id);
    Status recorded = recorder_(id, it == agents_.end() ? "" : it->second, answer);
    if (!recorded.ok()) answer = recorded;
  }
  if (answer.ok()) return Answer(context, grpc::Status::OK);
  return Answer(context, grpc::Status(static_cast<grpc::StatusCode>(answer.code()),
                                      std::string(answer.message())));
}

// One ForwardAgent call. Its thread polls the agent socket (agent -> StartWrite, waiting for
// OnWriteDone) and an eventfd that OnReadDone/OnCancel signal (builder -> agent), and Finishes
// the call; OnDone deletes the reactor. The thread touches nothing of the reactor after Finish.
class SshService::Forward final : public grpc::ServerBidiReactor<BytesMessage, BytesMessage> {
 public:
  Forward(SshService* service, base::UniqueFd agent, base::UniqueFd wake)
      : service_(service), agent_(std::move(agent)), wake_(std::move(wake)) {
    StartRead(&in_);
    service_->forwards_.Run([this] { Run(); });
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> l(mu_);
    if (ok) {
      inbox_ready_ = true;
    } else {
      builder_done_ = true;
    }
    Wake();
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> l(mu_);
    write_pending_ = false;
    write_ok_ = ok;
    written_.notify_all();
  }
  void OnCancel() override {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    written_.notify_all();
    Wake();
  }
  void OnDone() override {
    WipeStringBytes(in_.mutable_data());
    WipeStringBytes(out_.mutable_data());
    delete this;
  }

 private:
  void Wake() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }

  void Run() {
    SshService* service = service_;
    grpc::Status end = Pump();
    agent_.reset();  // the agent sees the connection end now
    Finish(end);
    service->running_.fetch_sub(1);
  }

  grpc::Status Pump() {
    const grpc::Status cancelled(grpc::StatusCode::CANCELLED, "ssh agent forwarding cancelled");
    const grpc::Status agent_write_failed(grpc::StatusCode::UNAVAILABLE,
                                          "ssh agent connection closed");
    bool agent_open = true;
    bool agent_shut = false;
    char buf[16384];
    for (;;) {
      bool have_input = false;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (cancelled_) return cancelled;
        if (inbox_ready_) {
          inbox_ready_ = false;
          have_input = true;
        } else if (builder_done_ && !agent_shut) {
          ::shutdown(agent_.get(), SHUT_WR);
          agent_shut = true;
        }
      }
      if (have_input) {
        // No read is outstanding while in_ is used here.
        bool ok = SendAll(agent_.get(), in_.data());
        WipeStringBytes(in_.mutable_data());
        if (!ok) return agent_write_failed;
        StartRead(&in_);
        continue;
      }
      if (!agent_open) return grpc::Status::OK;
      pollfd fds[2] = {{agent_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return agent_write_failed;
      }
      if (fds[1].revents) {
        uint64_t n;
        (void)!::read(wake_.get(), &n, sizeof n);
      }
      if (!fds[0].revents) continue;
      ssize_t n = ::read(agent_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        agent_open = false;
        continue;
      }
      out_.set_data(buf, static_cast<size_t>(n));
      sodium_memzero(buf, static_cast<size_t>(n));
      std::unique_lock<std::mutex> l(mu_);
      write_pending_ = true;
      StartWrite(&out_);
      written_.wait(l, [this] { return !write_pending_ || cancelled_; });
      if (cancelled_) {
        // OnWriteDone(false) follows the cancellation; out_ stays untouched until OnDone.
        return cancelled;
      }
      WipeStringBytes(out_.mutable_data());
      if (!write_ok_) return cancelled;
    }
  }

  SshService* const service_;
  base::UniqueFd agent_;
  const base::UniqueFd wake_;  // an eventfd
  BytesMessage in_, out_;
  std::mutex mu_;
  std::condition_variable written_;
  bool inbox_ready_ = false;   // in_ holds a chunk from the builder
  bool builder_done_ = false;  // the builder half-closed (or the read failed)
  bool write_pending_ = false;
  bool write_ok_ = true;
  bool cancelled_ = false;
};

grpc::ServerBidiReactor<BytesMessage, BytesMessage>* SshService::ForwardAgent(
    grpc::CallbackServerContext* context) {
  std::string id = kDefaultSshId;
  const auto& md = context->client_metadata();
  if (auto it = md.find(kSshIdKey); it != md.end() && it->second.size() > 0) {
    id.assign(it->second.data(), it->second.size());
  }
  auto refuse = [](grpc::Status status) {
    class Refused final : public grpc::ServerBidiReactor<BytesMessage, BytesMessage> {
     public:
      explicit Refused(grpc::Status s) { Finish(std::move(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(std::move(status));
  };
  auto it = agents_.find(id);
  if (it == agents_.end()) {
    return refuse(grpc::Status(grpc::StatusCode::NOT_FOUND, "unset ssh forward key " + id));
  }
  if (running_.fetch_add(1) >= kMaxForwards) {
    running_.fetch_sub(1);
    return refuse(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "too many ssh agent connections (max " + std::to_string(kMaxForwards) + ")"));
  }
  std::string error;
  auto agent = ConnectAgent(it->second, /*nonblocking=*/false, &error);
  base::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!agent || !wake.valid()) {
    running_.fetch_sub(1);
    if (error.empty()) error = std::string("eventfd: ") + std::strerror(errno);
    return refuse(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed to dial agent " + id + ": " + error));
  }
  forwarded_.fetch_add(1);
  return new Forward(this, std::move(*agent), std::move(wake));
}

}  // namespace latchkey::session
