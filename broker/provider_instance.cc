#include "broker/provider_instance.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstring>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "broker/duration_text.h"

namespace latchkey {

namespace {

template <typename T>
void InitHeader(T& s) {
  s.header.struct_size = static_cast<uint32_t>(sizeof(T));
  s.header.abi_major = LK_ABI_MAJOR;
  s.header.abi_minor = LK_ABI_MINOR;
}

int64_t ToUnixMs(std::chrono::steady_clock::time_point deadline) {
  auto remaining = deadline - std::chrono::steady_clock::now();
  auto wall = std::chrono::system_clock::now() +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(remaining);
  int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  return ms <= 0 ? 1 : ms;  // 0 means "no deadline" on the wire
}

// Logs blocks a plugin left under a finished call; the context's destructor frees them.
void WarnLeftovers(const HostContext& ctx, const char* operation) {
  size_t n = ctx.block_count();
  if (n == 0) return;
  ctx.logger().warn(
      "plugin bug: provider {} left {} secure memory block(s) allocated during {}; the host "
      "wiped and freed them",
      ctx.provider_name(), n, operation);
}

}  // namespace

const char* IsolationName(Isolation isolation) {
  return isolation == Isolation::kProcess ? "process" : "inline";
}

StatusCode StatusCodeFromPlugin(int32_t code) {
  if (code < 0 || code > static_cast<int32_t>(StatusCode::kUnauthenticated)) {
    return StatusCode::kInternal;
  }
  return static_cast<StatusCode>(code);
}

ProviderInstance::ProviderInstance(std::shared_ptr<PluginLibrary> library,
                                   std::unique_ptr<HostContext> ctx)
    : core_(std::make_shared<Core>()) {
  core_->library = std::move(library);
  core_->api = core_->library->api();
  core_->instance_ctx = std::move(ctx);
  core_->serialized = core_->api->threading == LK_THREADING_SERIALIZED;
}

Result<std::unique_ptr<ProviderInstance>> ProviderInstance::Create(
    std::shared_ptr<PluginLibrary> library, const std::vector<ConfigValue>& config) {
  if (library == nullptr) return InvalidArgumentError("provider instance: no plugin library");
  const lk_provider_api* api = library->api();
  LK_ASSIGN_OR_RETURN(ValidatedConfig validated, ValidateConfig(library->name(), api->config_keys,
                                                                api->config_key_count, config));

  auto ctx = std::make_unique<HostContext>(HostContext::Kind::kInstance, library->name());
  std::unique_ptr<ProviderInstance> self(new ProviderInstance(library, std::move(ctx)));
  HostContext& instance_ctx = *self->core_->instance_ctx;

  lk_error err{};
  InitHeader(err);
  lk_instance* instance = nullptr;
  int32_t rc = api->create(HostApi(), instance_ctx.handle(), validated.kvs().data(),
                           validated.kvs().size(), &instance, &err);
  if (rc != LK_OK) {
    if (instance != nullptr) {
      instance_ctx.logger().warn(
          "plugin bug: provider {} set an instance on a failed create; it was ignored",
          library->name());
    }
    WarnLeftovers(instance_ctx, "a failed create");
    return self->PluginError(rc, err, "create");
  }
  if (instance == nullptr) {
    WarnLeftovers(instance_ctx, "a failed create");
    return InternalError("provider " + library->name() + ": create returned OK but no instance");
  }
  self->core_->instance = instance;
  return self;
}

ProviderInstance::~ProviderInstance() {
  // A poisoned instance may still have a call running inside the plugin: it is not destroyed
  // here; the Core destroys it (and frees the instance context's blocks) when that call
  // returns, if ever.
  if (core_->poisoned.load()) return;
  if (core_->instance != nullptr) {
    auto lock = MaybeSerialize();
    core_->api->destroy(core_->instance);
    core_->instance = nullptr;
  }
  // Blocks an instance keeps until destroy are legitimate; the context frees them now.
  core_->instance_ctx->ReleaseAll();
}

ProviderInstance::Core::~Core() {
  if (instance != nullptr) {
    api->destroy(instance);
    instance = nullptr;
  }
  if (instance_ctx != nullptr) instance_ctx->ReleaseAll();
}

std::unique_lock<std::mutex> ProviderInstance::Core::MaybeSerialize() {
  if (!serialized) return std::unique_lock<std::mutex>();
  return std::unique_lock<std::mutex>(call_mu);
}

Status ProviderInstance::PluginError(int32_t rc, lk_error& err, const char* operation) const {
  err.message[LK_ERROR_MESSAGE_MAX - 1] = '\0';
  StatusCode code = StatusCodeFromPlugin(rc);
  if (code == StatusCode::kOk) code = StatusCode::kInternal;  // unreachable: rc != LK_OK
  std::string msg = "provider " + name() + ": ";
  if (err.message[0] != '\0') {
    // Messages the SDK generates already carry the prefix; do not double it.
    std::string_view text(err.message);
    if (text.substr(0, msg.size()) == msg) text.remove_prefix(msg.size());
    msg += text;
  } else {
    msg += std::string(operation) + " failed with " + StatusCodeName(code) + " and no message";
  }
  if (rc < 0 || rc > static_cast<int32_t>(StatusCode::kUnauthenticated)) {
    msg += " (provider error code " + std::to_string(rc) + ")";
  }
  return Status(code, std::move(msg));
}

// One fetch: the request's strings and the response, owned jointly by the caller and the
// worker thread (an abandoned call outlives its caller).
struct ProviderInstance::Call {
  Call(const FetchRequest& r, const std::string& provider,
       std::optional<std::chrono::steady_clock::time_point> deadline)
      : ref(r.ref),
        secret_id(r.secret_id),
        session_id(r.session_id),
        build_id(r.build_id),
        stage(r.stage),
        ctx(HostContext::Kind::kCall, provider, deadline, &cancelled) {}

  const std::string ref, secret_id, session_id, build_id, stage;
  // The plugin's view of cancellation (check_deadline); set when the caller is cancelled.
  std::atomic<bool> cancelled{false};
  HostContext ctx;
  lk_request req{};
  lk_secret out{};
  lk_error err{};
  int32_t rc = LK_OK;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // GUARDED_BY(mu)

  // Calls the plugin (serialised when it asks) and records the answer.
  void Run(Core& core) {
    int32_t result;
    {
      auto lock = core.MaybeSerialize();
      result = core.api->fetch(core.instance, &req, &out, &err);
    }
    std::lock_guard<std::mutex> lock(mu);
    rc = result;
    done = true;
    cv.notify_all();
  }
};

Result<FetchedSecret> ProviderInstance::Fetch(const FetchRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> deadline = request.deadline;
  if (!deadline.has_value() && request.timeout.count() > 0) deadline = start + request.timeout;
  const std::string quoted = "provider \"" + name() + "\"";
  const std::string what = " while fetching \"" + request.secret_id + "\"";
  if (core_->poisoned.load()) {
    return UnavailableError(quoted +
                            " is not called again in this session: an earlier fetch did not "
                            "answer");
  }
  auto timed_out = [&] {
    auto limit = request.timeout.count() > 0
                     ? request.timeout
                     : std::chrono::ceil<std::chrono::milliseconds>(*deadline - start);
    return DeadlineExceededError(quoted + " did not answer within " + FormatDuration(limit) + what);
  };
  auto cancelled = [&] { return CancelledError(quoted + " was cancelled" + what); };

  auto call = std::make_shared<Call>(request, name(), deadline);
  lk_request& req = call->req;
  InitHeader(req);
  req.requester_uid = request.requester_uid;
  req.step_index = request.step_index;
  req.dockerfile_line = request.dockerfile_line;
  req.ref = call->ref.c_str();
  req.secret_id = call->secret_id.c_str();
  req.session_id = call->session_id.c_str();
  req.build_id = call->build_id.c_str();
  req.stage = call->stage.c_str();
  req.deadline_unix_ms = deadline.has_value() ? ToUnixMs(*deadline) : 0;
  req.ctx = call->ctx.handle();
  InitHeader(call->out);
  InitHeader(call->err);

  if (request.direct || (!deadline.has_value() && request.cancelled == nullptr)) {
    call->Run(*core_);  // nothing to wait for besides the plugin: call it here
    return Finish(*call);
  }
  if (request.cancelled != nullptr && request.cancelled->load()) return cancelled();
  if (deadline.has_value() && start >= *deadline) return timed_out();
  try {
    std::thread([core = core_, call] { call->Run(*core); }).detach();
  } catch (const std::system_error& e) {
    return UnavailableError(quoted + ": cannot start a thread for the fetch: " + e.what());
  }
  // Wake at least every 50 ms to look at the cancellation flag (it has no descriptor to wait
  // on), and at the deadline. A plugin that honours the deadline answers right at it, with an
  // error that says what it was waiting for (a FIFO's writer, a server): it gets a short grace
  // past the deadline before the call counts as hung and is abandoned.
  constexpr auto kPoll = std::chrono::milliseconds(50);
  constexpr auto kGrace = std::chrono::milliseconds(500);
  std::optional<std::chrono::steady_clock::time_point> abandon_at;
  if (deadline.has_value()) abandon_at = *deadline + kGrace;
  std::unique_lock<std::mutex> lock(call->mu);
  while (!call->done) {
    auto now = std::chrono::steady_clock::now();
    bool cancel = request.cancelled != nullptr && request.cancelled->load();
    if (cancel || (abandon_at.has_value() && now >= *abandon_at)) {
      call->cancelled.store(cancel);
      core_->poisoned.store(true);
      call->ctx.logger().warn(
          "provider {} did not answer a fetch of {} ({}); the call is abandoned and the "
          "instance is not used again",
          name(), request.secret_id, cancel ? "cancelled" : "deadline passed");
      return cancel ? cancelled() : timed_out();
    }
    auto until = now + kPoll;
    if (abandon_at.has_value() && *abandon_at < until) until = *abandon_at;
    call->cv.wait_until(lock, until);
  }
  lock.unlock();
  return Finish(*call);
}

Result<FetchedSecret> ProviderInstance::Finish(Call& call) const {
  HostContext& call_ctx = call.ctx;
  lk_secret& out = call.out;
  int32_t rc = call.rc;
  if (rc != LK_OK) {
    if (out.data != nullptr) {
      call_ctx.logger().warn(
          "plugin bug: provider {} returned data with a failed fetch; the host wiped and freed "
          "it",
          name());
      if (call_ctx.BlockSize(out.data).has_value()) call_ctx.Free(out.data);
    }
    WarnLeftovers(call_ctx, "a failed fetch");
    return PluginError(rc, call.err, "fetch");
  }

  FetchedSecret result;
  if (out.data == nullptr) {
    if (out.len != 0) {
      WarnLeftovers(call_ctx, "fetch");
      return InternalError("provider " + name() + ": returned a length of " +
                           std::to_string(out.len) + " bytes without data");
    }
  } else {
    std::optional<size_t> block = call_ctx.BlockSize(out.data);
    if (!block.has_value()) {
      WarnLeftovers(call_ctx, "fetch");
      return InternalError("provider " + name() + ": returned memory the host did not allocate");
    }
    if (out.len > *block) {
      call_ctx.Free(out.data);
      WarnLeftovers(call_ctx, "fetch");
      return InternalError("provider " + name() + ": returned a length of " +
                           std::to_string(out.len) + " bytes, beyond its " +
                           std::to_string(*block) + "-byte block");
    }
    if (out.len == *block) {
      call_ctx.TakeBlock(out.data);
      result.value = SecretBuffer::Adopt(out.data, out.len);
    } else if (out.len > 0) {
      LK_ASSIGN_OR_RETURN(result.value, SecretBuffer::CopyOf({out.data, out.len}));
      call_ctx.Free(out.data);
    } else {
      call_ctx.Free(out.data);
    }
  }
  result.value.Seal();
  WarnLeftovers(call_ctx, "fetch");
  result.no_cache = (out.flags & LK_SECRET_NO_CACHE) != 0;
  if (out.expires_unix_ms != 0) result.expires_unix_ms = out.expires_unix_ms;
  out.version[LK_SECRET_VERSION_MAX - 1] = '\0';
  result.version = out.version;
  return result;
}

Result<std::vector<std::string>> ProviderInstance::List() {
  if (!LK_HAS_FN(core_->api, lk_provider_api, list)) {
    return UnimplementedError("provider " + name() + ": list is not implemented");
  }
  std::vector<std::string> refs;
  lk_error err{};
  InitHeader(err);
  auto emit = [](void* arg, const char* ref) {
    if (ref != nullptr) static_cast<std::vector<std::string>*>(arg)->emplace_back(ref);
  };
  int32_t rc;
  {
    auto lock = MaybeSerialize();
    rc = core_->api->list(core_->instance, emit, &refs, &err);
  }
  if (rc != LK_OK) return PluginError(rc, err, "list");
  return refs;
}

Status ProviderInstance::Health() {
  if (!LK_HAS_FN(core_->api, lk_provider_api, health)) {
    return UnimplementedError("provider " + name() + ": health is not implemented");
  }
  lk_error err{};
  InitHeader(err);
  int32_t rc;
  {
    auto lock = MaybeSerialize();
    rc = core_->api->health(core_->instance, &err);
  }
  if (rc != LK_OK) return PluginError(rc, err, "health");
  return Status::OK();
}

}  // namespace latchkey
