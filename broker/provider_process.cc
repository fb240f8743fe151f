#include "broker/provider_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "broker/duration_text.h"
#include "broker/provider_host.h"
#include "broker/provider_instance.h"

namespace latchkey {

using hostproto::Decoder;
using hostproto::Encoder;
using hostproto::Frame;
using hostproto::Type;

// ---- CrashTracker -------------------------------------------------------------------------

void CrashTracker::Expire(std::chrono::steady_clock::time_point now) const {
  while (!crashes_.empty() && crashes_.front() + window_ <= now) crashes_.pop_front();
}

uint32_t CrashTracker::Record(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  Expire(now);
  crashes_.push_back(now);
  return static_cast<uint32_t>(crashes_.size());
}

uint32_t CrashTracker::CountInWindow(std::chrono::steady_clock::time_point now) const {
  std::lock_guard lock(mu_);
  Expire(now);
  return static_cast<uint32_t>(crashes_.size());
}

std::optional<std::chrono::milliseconds> CrashTracker::BackoffLeft(
    std::chrono::steady_clock::time_point now) const {
  std::lock_guard lock(mu_);
  Expire(now);
  if (crashes_.size() <= max_crashes_) return std::nullopt;
  // The provider may start again once all but max_crashes of them left the window.
  auto until = crashes_[crashes_.size() - max_crashes_ - 1] + window_;
  return std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

// ---- ProcessProvider ----------------------------------------------------------------------

namespace {

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

int64_t ToUnixMs(std::chrono::steady_clock::time_point deadline) {
  auto wall = std::chrono::system_clock::now() +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  deadline - std::chrono::steady_clock::now());
  int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  return ms <= 0 ? 1 : ms;
}

bool IsCancelled(const void* flag) {
  return flag != nullptr && static_cast<const std::atomic<bool>*>(flag)->load();
}

// Whole seconds print as "59s", shorter waits as milliseconds.
std::string Left(std::chrono::milliseconds d) {
  if (d.count() >= 1000) d = std::chrono::ceil<std::chrono::seconds>(d);
  return FormatDuration(d);
}

Result<PluginProbe> DecodeReady(const Frame& ready) {
  Decoder d(ready.payload());
  PluginProbe p;
  p.name = d.Str();
  p.version = d.Str();
  p.threading = d.U32();
  p.capabilities = d.U64();
  p.abi_minor = static_cast<uint16_t>(d.U32());
  for (uint32_t i = 0, n = d.U32(); i < n && d.ok(); ++i) p.config_keys.push_back(d.Str());
  if (!d.ok() || !d.at_end()) return DataLossError("malformed READY frame");
  return p;
}

}  // namespace

Result<PluginProbe> ProbePlugin(const std::string& name, const std::string& host_path,
                                const std::string& plugin_path, const std::string& sha256_pin,
                                std::chrono::milliseconds timeout) {
  ProcessProviderOptions o;
  o.name = name;
  o.host_path = host_path;
  o.plugin_path = plugin_path;
  o.sha256_pin = sha256_pin;
  o.crashes = std::make_shared<CrashTracker>(UINT32_MAX, std::chrono::milliseconds(1));
  ProcessProvider p(std::move(o));
  std::lock_guard lock(p.mu_);
  PluginProbe probe;
  LK_RETURN_IF_ERROR(
      p.Spawn("while loading", std::chrono::steady_clock::now() + timeout, timeout, &probe));
  return probe;
}

Result<std::unique_ptr<ProcessProvider>> ProcessProvider::Create(ProcessProviderOptions options) {
  if (options.crashes == nullptr) {
    return InvalidArgumentError("provider \"" + options.name + "\": no crash tracker");
  }
  std::unique_ptr<ProcessProvider> self(new ProcessProvider(std::move(options)));
  std::lock_guard lock(self->mu_);
  auto limit = self->options_.start_timeout;
  LK_RETURN_IF_ERROR(self->EnsureHost("while starting", std::chrono::steady_clock::now() + limit,
                                      limit, nullptr, ""));
  return self;
}

ProcessProvider::~ProcessProvider() {
  std::lock_guard lock(mu_);
  if (pid_ < 0) return;
  chan_.reset();  // end of stream: the host destroys the instance and exits
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  StopHost(true);
}

pid_t ProcessProvider::host_pid() const {
  std::lock_guard lock(mu_);
  return pid_;
}

void ProcessProvider::StopHost(bool kill) {
  chan_.reset();
  if (pid_ < 0) return;
  if (kill) ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Status ProcessProvider::HostDied(const std::string& what, const std::string& secret_id) {
  chan_.reset();
  int status = 0;
  pid_t r = 0;
  // The socket closed: the host is exiting, or closed it and lives on (then it is killed).
  for (int i = 0; i < 100 && r == 0; ++i) {
    r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (r == 0) {
    ::kill(pid_, SIGKILL);
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  ProviderCrash crash;
  crash.provider = options_.name;
  crash.secret_id = secret_id;
  std::string how;
  if (r > 0 && WIFSIGNALED(status)) {
    crash.signal = WTERMSIG(status);
    crash.signal_name = SignalName(crash.signal);
    how = "crashed (signal " + std::to_string(crash.signal) + ", " + crash.signal_name + ")";
  } else {
    crash.exit_status = r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    how = "exited (status " + std::to_string(crash.exit_status) + ")";
  }
  auto now = std::chrono::steady_clock::now();
  crash.crashes = options_.crashes->Record(now);
  auto left = options_.crashes->BackoffLeft(now);
  crash.backoff = left.has_value();
  if (options_.on_crash) options_.on_crash(crash);
  std::string msg = Quoted() + " " + how + " " + what;
  if (!left.has_value()) {
    msg += "; it will be restarted";
  } else {
    msg += "; it crashed " + std::to_string(crash.crashes) + " times within " +
           FormatDuration(options_.crashes->window()) +
           " (max_crashes: " + std::to_string(options_.crashes->max_crashes()) +
           "), so it is not started again for " + Left(*left);
  }
  PluginLogger(options_.name)->error("{}", msg);
  return UnavailableError(msg);
}

Status ProcessProvider::ErrorFrom(const Frame& frame) const {
  Decoder d(frame.payload());
  uint32_t code = d.U32();
  std::string message = d.Str();
  StatusCode c = StatusCodeFromPlugin(static_cast<int32_t>(code));
  if (c == StatusCode::kOk) c = StatusCode::kInternal;
  return Status(c, std::move(message));
}

Result<Frame> ProcessProvider::Await(const std::string& what, Deadline deadline,
                                     std::chrono::milliseconds limit,
                                     const std::atomic<bool>* cancelled,
                                     const std::string& secret_id) {
  // A plugin that honours the deadline answers right at it with its own error: it gets the
  // same short grace as inline.
  constexpr auto kGrace = std::chrono::milliseconds(500);
  Deadline stop_at;
  if (deadline.has_value()) stop_at = *deadline + kGrace;
  for (;;) {
    auto frame = chan_->Receive(stop_at, cancelled != nullptr ? &IsCancelled : nullptr, cancelled);
    if (frame.ok()) {
      if (frame->type != Type::kLog) return frame;
      Decoder d(frame->payload());
      uint32_t level = d.U32();
      std::string line = d.Str();
      if (!d.ok() || !d.at_end()) {
        StopHost(true);
        return InternalError(Quoted() + " broke the host protocol " + what +
                             " (malformed LOG frame); it was stopped and will be restarted");
      }
      auto lvl = static_cast<spdlog::level::level_enum>(
          std::min<uint32_t>(level, static_cast<uint32_t>(spdlog::level::critical)));
      PluginLogger(plugin_name_.empty() ? options_.name : plugin_name_)->log(lvl, "{}", line);
      continue;
    }
    const Status& st = frame.status();
    switch (st.code()) {
      case StatusCode::kDeadlineExceeded:
        StopHost(true);
        PluginLogger(options_.name)
            ->warn("provider {} did not answer {}; its host process was killed", options_.name,
                   what);
        return DeadlineExceededError(Quoted() + " did not answer within " + FormatDuration(limit) +
                                     " " + what);
      case StatusCode::kCancelled:
        StopHost(true);
        return CancelledError(Quoted() + " was cancelled " + what);
      case StatusCode::kUnavailable:
        return HostDied(what, secret_id);
      default:
        StopHost(true);
        return InternalError(Quoted() + " broke the host protocol " + what + " (" + st.message() +
                             "); it was stopped and will be restarted");
    }
  }
}

Result<Frame> ProcessProvider::Call(Type type, std::span<const uint8_t> payload, int fd,
                                    const std::string& what, Deadline deadline,
                                    std::chrono::milliseconds limit,
                                    const std::atomic<bool>* cancelled,
                                    const std::string& secret_id) {
  Status sent = chan_->Send(type, payload, fd);
  if (!sent.ok()) {
    if (sent.code() == StatusCode::kUnavailable) return HostDied(what, secret_id);
    return sent;
  }
  return Await(what, deadline, limit, cancelled, secret_id);
}

Status ProcessProvider::EnsureHost(const std::string& what, Deadline deadline,
                                   std::chrono::milliseconds limit,
                                   const std::atomic<bool>* cancelled,
                                   const std::string& secret_id) {
  if (chan_ != nullptr) return Status::OK();
  auto now = std::chrono::steady_clock::now();
  if (auto left = options_.crashes->BackoffLeft(now); left.has_value()) {
    return UnavailableError(Quoted() + " is not started again for " + Left(*left) +
                            ": it crashed " + std::to_string(options_.crashes->CountInWindow(now)) +
                            " times within " + FormatDuration(options_.crashes->window()) +
                            " (max_crashes: " + std::to_string(options_.crashes->max_crashes()) +
                            ")");
  }
  PluginProbe probe;
  LK_RETURN_IF_ERROR(Spawn(what, deadline, limit, &probe, cancelled, secret_id));
  plugin_name_ = probe.name;
  bool takes_environment = std::find(probe.config_keys.begin(), probe.config_keys.end(),
                                     "environment") != probe.config_keys.end();
  return SendCreate(what, deadline, limit, cancelled, secret_id, takes_environment);
}

Status ProcessProvider::Spawn(const std::string& what, Deadline deadline,
                              std::chrono::milliseconds limit, PluginProbe* probe_out,
                              const std::atomic<bool>* cancelled, const std::string& secret_id) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return UnavailableError(Quoted() + ": cannot create the host socket: " + strerror(errno));
  }
  base::UniqueFd ours(sv[0]);
  base::UniqueFd theirs(sv[1]);
  // Every descriptor handed over is first duplicated above the target numbers (close-on-exec),
  // then dup2'ed onto its number in the child, which clears close-on-exec there.
  std::vector<base::UniqueFd> temps;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  auto hand_over = [&](int fd, int target) {
    int tmp = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
    if (tmp < 0) return false;
    temps.emplace_back(tmp);
    posix_spawn_file_actions_adddup2(&actions, tmp, target);
    return true;
  };
  bool handed = hand_over(theirs.get(), hostproto::kHostSocketFd);
  for (int fd : options_.keep_fds) handed = handed && hand_over(fd, fd);
  if (!handed) {
    posix_spawn_file_actions_destroy(&actions);
    return UnavailableError(Quoted() + ": cannot pass descriptors to the host: " + strerror(errno));
  }
  std::vector<std::string> args = {options_.host_path, "--plugin", options_.plugin_path};
  if (!options_.sha256_pin.empty()) args.insert(args.end(), {"--sha256", options_.sha256_pin});
  if (options_.uid.has_value()) args.insert(args.end(), {"--uid", std::to_string(*options_.uid)});
  if (options_.gid.has_value()) args.insert(args.end(), {"--gid", std::to_string(*options_.gid)});
  for (int fd : options_.keep_fds) args.insert(args.end(), {"--keep-fd", std::to_string(fd)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // A clean environment: the plugin sees nothing of the broker's (its config says what it needs).
  char path_env[] = "PATH=/usr/local/bin:/usr/bin:/bin";
  char* envp[] = {path_env, nullptr};
  // A session of its own: the terminal's Ctrl-C is the broker's to handle, and a stopped host is
  // never sent SIGHUP because something else in the caller's process group exited (the kernel's
  // orphaned-process-group rule), which made a hung host look crashed.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, options_.host_path.c_str(), &actions, &attr, argv.data(), envp);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  temps.clear();
  theirs.reset();
  if (rc != 0) {
    return UnavailableError(Quoted() + ": cannot start latchkey-provider-host " +
                            options_.host_path + ": " + strerror(rc));
  }
  pid_ = pid;
  chan_ = std::make_unique<hostproto::FrameChannel>(std::move(ours));

  // READY, or the loader's (or the confinement's) error.
  LK_ASSIGN_OR_RETURN(Frame ready, Await(what, deadline, limit, cancelled, secret_id));
  if (ready.type == Type::kError) {
    Status st = ErrorFrom(ready);
    StopHost(false);
    return st;
  }
  if (ready.type != Type::kReady) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what + " (" +
                         hostproto::TypeName(ready.type) + " instead of READY)" +
                         "; it was stopped and will be restarted");
  }
  auto probe = DecodeReady(ready);
  if (!probe.ok()) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what +
                         " (malformed READY frame); it was stopped and will be restarted");
  }
  *probe_out = std::move(*probe);
  return Status::OK();
}

Status ProcessProvider::SendCreate(const std::string& what, Deadline deadline,
                                   std::chrono::milliseconds limit,
                                   const std::atomic<bool>* cancelled, const std::string& secret_id,
                                   bool takes_environment) {
  bool add_environment = takes_environment && options_.environment != nullptr &&
                         std::none_of(options_.config.begin(), options_.config.end(),
                                      [](const ConfigValue& v) { return v.key == "environment"; });

  // CREATE with the config, built in secure memory (values may be secrets).
  size_t size = 4;
  for (const auto& v : options_.config) size += 4 + v.key.size() + 4 + v.bytes().size();
  if (add_environment) size += 4 + 11 + 4 + options_.environment->size();
  LK_ASSIGN_OR_RETURN(SecretBuffer payload, SecretBuffer::Allocate(size));
  Encoder e({payload.mutable_data(), size});
  e.U32(static_cast<uint32_t>(options_.config.size() + (add_environment ? 1 : 0)));
  for (const auto& v : options_.config) {
    e.Str(v.key);
    e.Bytes(v.bytes());
  }
  if (add_environment) {
    e.Str("environment");
    e.Bytes(options_.environment->bytes());
  }
  payload.Seal();
  LK_ASSIGN_OR_RETURN(Frame created, Call(Type::kCreate, payload.bytes(), -1, what, deadline, limit,
                                          cancelled, secret_id));
  if (created.type == Type::kError) {
    Status st = ErrorFrom(created);
    StopHost(false);
    return st;
  }
  if (created.type != Type::kOk) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what + " (" +
                         hostproto::TypeName(created.type) + " instead of OK)" +
                         "; it was stopped and will be restarted");
  }
  return Status::OK();
}

Result<FetchedSecret> ProcessProvider::Fetch(const FetchRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  Deadline deadline = request.deadline;
  if (!deadline.has_value() && request.timeout.count() > 0) deadline = start + request.timeout;
  auto limit =
      request.timeout.count() > 0
          ? request.timeout
          : (deadline.has_value() ? std::chrono::ceil<std::chrono::milliseconds>(*deadline - start)
                                  : options_.start_timeout);
  const std::string what = "while fetching \"" + request.secret_id + "\"";
  std::unique_lock lock(mu_, std::defer_lock);
  if (deadline.has_value()) {
    if (!lock.try_lock_until(*deadline)) {
      return DeadlineExceededError(Quoted() + " did not answer within " + FormatDuration(limit) +
                                   " " + what);
    }
  } else {
    lock.lock();
  }
  if (request.cancelled != nullptr && request.cancelled->load()) {
    return CancelledError(Quoted() + " was cancelled " + what);
  }
  LK_RETURN_IF_ERROR(EnsureHost(what, deadline, limit, request.cancelled, request.secret_id));
  Encoder e;
  e.Str(request.ref);
  e.Str(request.secret_id);
  e.Str(request.session_id);
  e.Str(request.build_id);
  e.Str(request.stage);
  e.U32(request.step_index);
  e.U32(request.dockerfile_line);
  e.U32(request.requester_uid);
  e.I64(deadline.has_value() ? ToUnixMs(*deadline) : 0);
  e.U64(static_cast<uint64_t>(request.timeout.count()));
  LK_ASSIGN_OR_RETURN(Frame reply, Call(Type::kFetch, e.out(), request.file_fd, what, deadline,
                                        limit, request.cancelled, request.secret_id));
  if (reply.type == Type::kError) return ErrorFrom(reply);
  if (reply.type != Type::kSecret) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what + " (" +
                         hostproto::TypeName(reply.type) + " instead of SECRET)" +
                         "; it was stopped and will be restarted");
  }
  Decoder d(reply.payload());
  uint32_t flags = d.U32();
  int64_t expires = d.I64();
  std::string version = d.Str();
  auto value = d.Bytes();
  if (!d.ok() || !d.at_end()) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what +
                         " (malformed SECRET frame); it was stopped and will be restarted");
  }
  FetchedSecret out;
  // The frame's own secure buffer becomes the value (no second copy).
  LK_ASSIGN_OR_RETURN(out.value, hostproto::TakeSecretValue(reply, value));
  out.no_cache = (flags & 1u) != 0;
  if (expires != 0) out.expires_unix_ms = expires;
  out.version = std::move(version);
  return out;
}

Result<std::vector<std::string>> ProcessProvider::List() {
  std::lock_guard lock(mu_);
  auto limit = options_.start_timeout;
  auto deadline = std::chrono::steady_clock::now() + limit;
  const std::string what = "while listing";
  LK_RETURN_IF_ERROR(EnsureHost(what, deadline, limit, nullptr, ""));
  LK_ASSIGN_OR_RETURN(Frame reply, Call(Type::kList, {}, -1, what, deadline, limit, nullptr, ""));
  if (reply.type == Type::kError) return ErrorFrom(reply);
  Decoder d(reply.payload());
  std::vector<std::string> refs;
  uint32_t n = reply.type == Type::kRefs ? d.U32() : 0;
  for (uint32_t i = 0; i < n && d.ok(); ++i) refs.push_back(d.Str());
  if (reply.type != Type::kRefs || !d.ok() || !d.at_end()) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what +
                         " (malformed REFS frame); it was stopped and will be restarted");
  }
  return refs;
}

Status ProcessProvider::Health() {
  std::lock_guard lock(mu_);
  auto limit = options_.start_timeout;
  auto deadline = std::chrono::steady_clock::now() + limit;
  const std::string what = "while checking health";
  LK_RETURN_IF_ERROR(EnsureHost(what, deadline, limit, nullptr, ""));
  LK_ASSIGN_OR_RETURN(Frame reply, Call(Type::kHealth, {}, -1, what, deadline, limit, nullptr, ""));
  if (reply.type == Type::kError) return ErrorFrom(reply);
  if (reply.type != Type::kOk) {
    StopHost(true);
    return InternalError(Quoted() + " broke the host protocol " + what + " (" +
                         hostproto::TypeName(reply.type) + " instead of OK)" +
                         "; it was stopped and will be restarted");
  }
  return Status::OK();
}

}  // namespace latchkey
