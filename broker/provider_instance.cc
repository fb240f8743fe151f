#include "broker/provider_instance.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <string_view>
#include <utility>

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

StatusCode StatusCodeFromPlugin(int32_t code) {
  if (code < 0 || code > static_cast<int32_t>(StatusCode::kUnauthenticated)) {
    return StatusCode::kInternal;
  }
  return static_cast<StatusCode>(code);
}

ProviderInstance::ProviderInstance(std::shared_ptr<PluginLibrary> library,
                                   std::unique_ptr<HostContext> ctx)
    : library_(std::move(library)),
      api_(library_->api()),
      instance_ctx_(std::move(ctx)),
      serialized_(api_->threading == LK_THREADING_SERIALIZED) {}

Result<std::unique_ptr<ProviderInstance>> ProviderInstance::Create(
    std::shared_ptr<PluginLibrary> library, const std::vector<ConfigValue>& config) {
  if (library == nullptr) return InvalidArgumentError("provider instance: no plugin library");
  const lk_provider_api* api = library->api();
  LK_ASSIGN_OR_RETURN(ValidatedConfig validated, ValidateConfig(library->name(), api->config_keys,
                                                                api->config_key_count, config));

  auto ctx = std::make_unique<HostContext>(HostContext::Kind::kInstance, library->name());
  std::unique_ptr<ProviderInstance> self(new ProviderInstance(library, std::move(ctx)));

  lk_error err{};
  InitHeader(err);
  lk_instance* instance = nullptr;
  int32_t rc = api->create(HostApi(), self->instance_ctx_->handle(), validated.kvs().data(),
                           validated.kvs().size(), &instance, &err);
  if (rc != LK_OK) {
    if (instance != nullptr) {
      self->instance_ctx_->logger().warn(
          "plugin bug: provider {} set an instance on a failed create; it was ignored",
          library->name());
    }
    WarnLeftovers(*self->instance_ctx_, "a failed create");
    return self->PluginError(rc, err, "create");
  }
  if (instance == nullptr) {
    WarnLeftovers(*self->instance_ctx_, "a failed create");
    return InternalError("provider " + library->name() + ": create returned OK but no instance");
  }
  self->instance_ = instance;
  return self;
}

ProviderInstance::~ProviderInstance() {
  if (instance_ != nullptr) {
    auto lock = MaybeSerialize();
    api_->destroy(instance_);
    instance_ = nullptr;
  }
  // Blocks an instance keeps until destroy are legitimate; the context frees them now.
  instance_ctx_->ReleaseAll();
}

std::unique_lock<std::mutex> ProviderInstance::MaybeSerialize() {
  if (!serialized_) return std::unique_lock<std::mutex>();
  return std::unique_lock<std::mutex>(call_mu_);
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

Result<FetchedSecret> ProviderInstance::Fetch(const FetchRequest& request) {
  HostContext call_ctx(HostContext::Kind::kCall, name(), request.deadline, request.cancelled);
  lk_request req{};
  InitHeader(req);
  req.requester_uid = request.requester_uid;
  req.step_index = request.step_index;
  req.dockerfile_line = request.dockerfile_line;
  req.ref = request.ref.c_str();
  req.secret_id = request.secret_id.c_str();
  req.session_id = request.session_id.c_str();
  req.build_id = request.build_id.c_str();
  req.stage = request.stage.c_str();
  req.deadline_unix_ms = request.deadline.has_value() ? ToUnixMs(*request.deadline) : 0;
  req.ctx = call_ctx.handle();

  lk_secret out{};
  InitHeader(out);
  lk_error err{};
  InitHeader(err);
  int32_t rc;
  {
    auto lock = MaybeSerialize();
    rc = api_->fetch(instance_, &req, &out, &err);
  }

  if (rc != LK_OK) {
    if (out.data != nullptr) {
      call_ctx.logger().warn(
          "plugin bug: provider {} returned data with a failed fetch; the host wiped and freed "
          "it",
          name());
      if (call_ctx.BlockSize(out.data).has_value()) call_ctx.Free(out.data);
    }
    WarnLeftovers(call_ctx, "a failed fetch");
    return PluginError(rc, err, "fetch");
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
  if (!LK_HAS_FN(api_, lk_provider_api, list)) {
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
    rc = api_->list(instance_, emit, &refs, &err);
  }
  if (rc != LK_OK) return PluginError(rc, err, "list");
  return refs;
}

Status ProviderInstance::Health() {
  if (!LK_HAS_FN(api_, lk_provider_api, health)) {
    return UnimplementedError("provider " + name() + ": health is not implemented");
  }
  lk_error err{};
  InitHeader(err);
  int32_t rc;
  {
    auto lock = MaybeSerialize();
    rc = api_->health(instance_, &err);
  }
  if (rc != LK_OK) return PluginError(rc, err, "health");
  return Status::OK();
}

}  // namespace latchkey
