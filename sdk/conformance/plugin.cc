#include "plugin.h"

#include <dlfcn.h>

#include <cstring>

namespace latchkey::conformance {

std::string CallStatus::Describe() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(StatusCodeFromInt(code))) + " (" + std::to_string(code) +
         "): " + message;
}

void PrepareError(lk_error* err) {
  std::memset(err, 0, sizeof *err);
  err->header.struct_size = sizeof *err;
  err->header.abi_major = LK_ABI_MAJOR;
  err->header.abi_minor = LK_ABI_MINOR;
  std::memset(err->message, 'x', sizeof err->message);
}

CallStatus ReadError(int32_t code, const lk_error& err) {
  CallStatus s;
  s.code = code;
  if (code == LK_OK) return s;
  size_t cap = sizeof err.message;
  if (err.header.struct_size < offsetof(lk_error, message) + cap) {
    cap = err.header.struct_size > offsetof(lk_error, message)
              ? err.header.struct_size - offsetof(lk_error, message)
              : 0;
  }
  const void* nul = cap > 0 ? std::memchr(err.message, '\0', cap) : nullptr;
  if (nul == nullptr) {
    s.problem = "the error message is not NUL-terminated within the caller's lk_error (" +
                std::to_string(cap) + " message bytes)";
    return s;
  }
  s.message = err.message;
  if (s.message.empty() || s.message.find_first_not_of('x') == std::string::npos) {
    s.problem = "the error message is empty (a failure must say what failed and why)";
  } else if (code < 0 || (code > LK_UNAUTHENTICATED && code < 0x10000)) {
    s.problem = "returned code " + std::to_string(code) +
                " is neither an LK_* status nor a vendor code (>= 0x10000)";
  } else if (err.code != code) {
    s.problem = "err->code (" + std::to_string(err.code) + ") differs from the returned code (" +
                std::to_string(code) + ")";
  }
  return s;
}

std::vector<lk_kv> ToKv(const ConfigList& config) {
  std::vector<lk_kv> kv;
  for (const auto& [k, v] : config) kv.push_back(lk_kv{k.c_str(), v.c_str(), v.size()});
  return kv;
}

Result<Plugin> Plugin::Load(const std::string& path) {
  Plugin p;
  p.path_ = path;
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = dlerror();
    return FailedPreconditionError("cannot load plugin " + path + ": " +
                                   (e != nullptr ? e : "dlopen failed"));
  }
  void* sym = dlsym(handle, LK_PROVIDER_ENTRY_SYMBOL);
  if (sym == nullptr) {
    return FailedPreconditionError("plugin " + path + " does not export " +
                                   LK_PROVIDER_ENTRY_SYMBOL + " (is it a latchkey provider?)");
  }
  p.entry_ = reinterpret_cast<lk_provider_entry_fn>(sym);
  const lk_provider_api* api = nullptr;
  int32_t rc = p.entry_(LK_ABI_MAJOR, LK_ABI_MINOR, &api);
  std::string supports = "this host supports " + std::to_string(LK_ABI_MAJOR) + ".0 to " +
                         std::to_string(LK_ABI_MAJOR) + "." + std::to_string(LK_ABI_MINOR);
  if (api != nullptr && api->header.abi_major != LK_ABI_MAJOR) {
    return FailedPreconditionError("plugin " + path + " was built for ABI " +
                                   std::to_string(api->header.abi_major) + "." +
                                   std::to_string(api->header.abi_minor) + "; " + supports);
  }
  if (rc != LK_OK) {
    return FailedPreconditionError(
        "plugin " + path + " refused ABI " + std::to_string(LK_ABI_MAJOR) + "." +
        std::to_string(LK_ABI_MINOR) + " (entry returned " + std::to_string(rc) + "); " + supports);
  }
  if (api == nullptr) {
    return FailedPreconditionError("plugin " + path + ": " + LK_PROVIDER_ENTRY_SYMBOL +
                                   " returned LK_OK but no table");
  }
  if (api->header.struct_size < kMinProviderApiSize) {
    return FailedPreconditionError(
        "plugin " + path + ": its lk_provider_api struct_size " +
        std::to_string(api->header.struct_size) + " is below the v1 minimum " +
        std::to_string(kMinProviderApiSize) + " (create, destroy and fetch are required)");
  }
  p.raw_ = api;
  size_t n = api->header.struct_size < sizeof(lk_provider_api) ? api->header.struct_size
                                                               : sizeof(lk_provider_api);
  std::memcpy(&p.table_, api, n);
  if (p.table_.create == nullptr || p.table_.destroy == nullptr || p.table_.fetch == nullptr) {
    return FailedPreconditionError("plugin " + path +
                                   ": create, destroy and fetch must all be non-NULL");
  }
  return p;
}

CallStatus Plugin::Create(const lk_host_api* host, lk_host_ctx* ctx, const ConfigList& config,
                          lk_instance** out) const {
  std::vector<lk_kv> kv = ToKv(config);
  lk_error err;
  PrepareError(&err);
  *out = reinterpret_cast<lk_instance*>(0x1);  // must be overwritten
  int32_t rc = table_.create(host, ctx, kv.empty() ? nullptr : kv.data(), kv.size(), out, &err);
  CallStatus s = ReadError(rc, err);
  if (rc == LK_OK && (*out == nullptr || *out == reinterpret_cast<lk_instance*>(0x1))) {
    s.problem = "create returned LK_OK without setting *out to an instance";
  } else if (rc != LK_OK && *out != nullptr) {
    if (s.problem.empty()) s.problem = "create failed but did not leave *out NULL";
    *out = nullptr;
  }
  return s;
}

CallStatus Plugin::Fetch(TestHost& host, lk_instance* instance, const std::string& ref,
                         const FetchOptions& options, TestHost::CallEnd* end) const {
  lk_host_ctx* call = host.NewCallContext(options.deadline_unix_ms, options.forced_deadline_code);
  lk_request req;
  std::memset(&req, 0, sizeof req);
  req.header = lk_table_header{sizeof req, LK_ABI_MAJOR, LK_ABI_MINOR};
  req.requester_uid = 1000;
  req.step_index = 0;
  req.dockerfile_line = 7;
  req.ref = ref.c_str();
  req.secret_id = "conformance";
  req.session_id = "session-conformance";
  req.build_id = "build-conformance";
  req.stage = "0";
  req.deadline_unix_ms = options.deadline_unix_ms;
  req.ctx = call;
  lk_secret local_out;
  std::memset(&local_out, 0, sizeof local_out);
  local_out.header = lk_table_header{sizeof local_out, LK_ABI_MAJOR, LK_ABI_MINOR};
  lk_secret& out = options.out != nullptr ? *options.out : local_out;
  lk_error local_err;
  PrepareError(&local_err);
  lk_error& err = options.err != nullptr ? *options.err : local_err;
  int32_t rc = table_.fetch(instance, &req, &out, &err);
  CallStatus s = ReadError(rc, err);
  if (rc != LK_OK && (out.data != nullptr || out.len != 0)) {
    if (s.problem.empty()) {
      s.problem = "fetch failed (" + s.Describe() + ") but left data in the response (data " +
                  (out.data != nullptr ? "non-NULL" : "NULL") + ", len " + std::to_string(out.len) +
                  ")";
    }
  }
  if (rc == LK_OK && LK_HAS(&out, lk_secret, version) &&
      std::memchr(out.version, '\0', sizeof out.version) == nullptr) {
    s.problem = "lk_secret.version is not NUL-terminated";
  }
  TestHost::CallEnd e =
      host.EndCall(call, rc == LK_OK ? out.data : nullptr, rc == LK_OK ? out.len : 0,
                   rc == LK_OK ? options.expected : nullptr);
  if (end != nullptr) *end = e;
  return s;
}

namespace {
void CollectRef(void* arg, const char* ref) {
  static_cast<std::vector<std::string>*>(arg)->push_back(ref != nullptr ? ref : "(NULL)");
}
}  // namespace

CallStatus Plugin::Unimplemented(const std::string& member) const {
  CallStatus s;
  s.code = LK_UNIMPLEMENTED;
  s.message = "provider " + name() + " does not implement " + member;
  return s;
}

CallStatus Plugin::List(lk_instance* instance, std::vector<std::string>* refs) const {
  if (table_.list == nullptr) return Unimplemented("list");
  lk_error err;
  PrepareError(&err);
  int32_t rc = table_.list(instance, &CollectRef, refs, &err);
  return ReadError(rc, err);
}

CallStatus Plugin::Health(lk_instance* instance) const {
  if (table_.health == nullptr) return Unimplemented("health");
  lk_error err;
  PrepareError(&err);
  int32_t rc = table_.health(instance, &err);
  return ReadError(rc, err);
}

}  // namespace latchkey::conformance
