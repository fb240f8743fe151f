// Header-only C++ helper for writing latchkey provider plugins against the C ABI in
// latchkey/provider.h. A provider becomes a small class:
//
//   class HelloProvider {
//    public:
//     static constexpr const char* kName = "hello";        // [a-z0-9-]
//     static constexpr const char* kVersion = "1.0.0";
//     static constexpr lk_config_key kConfig[] = {          // optional
//         {"greeting", LK_CONFIG_STRING, LK_CONFIG_REQUIRED, "the greeting", nullptr}};
//     // optional: static constexpr uint64_t kCapabilities = LK_CAP_VERSIONS;
//     // optional: static constexpr uint32_t kThreading = LK_THREADING_SERIALIZED;
//     static latchkey::Result<std::unique_ptr<HelloProvider>> Create(
//         const latchkey::sdk::Config& config, latchkey::sdk::Host& host);
//     latchkey::Result<latchkey::sdk::Response> Fetch(const latchkey::sdk::Request& req);
//     // optional: latchkey::Status List(const latchkey::sdk::ListSink& sink);
//     // optional: latchkey::Status Health();
//   };
//   LATCHKEY_DEFINE_PROVIDER(HelloProvider)   // at global namespace scope, in one .cc file
//
// LATCHKEY_DEFINE_PROVIDER emits the static lk_provider_api table, noexcept trampolines and the
// exported lk_provider_entry. The trampolines:
//  - validate config against kConfig before Create (unknown, duplicate, missing-required and
//    mistyped keys fail with INVALID_ARGUMENT naming the key; defaults are applied);
//  - return DEADLINE_EXCEEDED/CANCELLED without calling Fetch when the call is already over;
//  - copy a Response value that was not allocated under the call's context;
//  - catch every exception: std::bad_alloc becomes RESOURCE_EXHAUSTED, anything else INTERNAL
//    with the message "provider <name>: internal error: <what()>". what() is copied into the
//    error message, so a provider must NEVER throw an exception whose text holds secret bytes.
//
// Status codes map 1:1: latchkey::StatusCode values equal the LK_* codes. Messages a provider
// returns reach users verbatim; SDK-generated messages start with "provider <name>: ".
//
// Compiles as C++17 and C++20 and depends on nothing but the two headers it includes.
#ifndef LATCHKEY_PROVIDER_HPP_
#define LATCHKEY_PROVIDER_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "latchkey/provider.h"
#include "latchkey/status.h"

namespace latchkey::sdk {

static_assert(static_cast<int32_t>(StatusCode::kOk) == LK_OK, "codes map 1:1");
static_assert(static_cast<int32_t>(StatusCode::kCancelled) == LK_CANCELLED, "codes map 1:1");
static_assert(static_cast<int32_t>(StatusCode::kInvalidArgument) == LK_INVALID_ARGUMENT, "1:1");
static_assert(static_cast<int32_t>(StatusCode::kDeadlineExceeded) == LK_DEADLINE_EXCEEDED, "1:1");
static_assert(static_cast<int32_t>(StatusCode::kNotFound) == LK_NOT_FOUND, "codes map 1:1");
static_assert(static_cast<int32_t>(StatusCode::kResourceExhausted) == LK_RESOURCE_EXHAUSTED, "");
static_assert(static_cast<int32_t>(StatusCode::kFailedPrecondition) == LK_FAILED_PRECONDITION, "");
static_assert(static_cast<int32_t>(StatusCode::kUnimplemented) == LK_UNIMPLEMENTED, "");
static_assert(static_cast<int32_t>(StatusCode::kInternal) == LK_INTERNAL, "codes map 1:1");
static_assert(static_cast<int32_t>(StatusCode::kUnauthenticated) == LK_UNAUTHENTICATED, "");

// Move-only owner of one block of host secure memory (host->secret_alloc). The destructor
// returns the block with host->secret_free, which wipes it. An empty SecretBytes (size 0) holds
// no block. Not thread-safe; the bytes may be read from any thread while the owner lives.
class SecretBytes {
 public:
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept { *this = std::move(other); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Reset();
      api_ = other.api_;
      ctx_ = other.ctx_;
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~SecretBytes() { Reset(); }

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The host context the block was allocated under.
  lk_host_ctx* ctx() const { return ctx_; }

  // Frees the block now (wiped by the host). Afterwards the object is empty.
  void Reset() {
    if (data_ != nullptr && api_ != nullptr && api_->secret_free != nullptr) {
      api_->secret_free(ctx_, data_);
    }
    data_ = nullptr;
    size_ = 0;
  }
  // Gives up ownership and returns the block; the caller must hand it to the host (the SDK does
  // this with a Response value) or free it with secret_free.
  uint8_t* release() {
    size_ = 0;
    return std::exchange(data_, nullptr);
  }

 private:
  friend class Host;
  SecretBytes(const lk_host_api* api, lk_host_ctx* ctx, uint8_t* data, size_t size)
      : api_(api), ctx_(ctx), data_(data), size_(size) {}

  const lk_host_api* api_ = nullptr;
  lk_host_ctx* ctx_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The host's upcalls bound to one context: the instance context (given to Create, valid until
// the instance is destroyed) or a call context (Request::host, valid during that call).
// Blocks allocated under a call context are freed by the host when the call returns, except
// the one returned as the Response value. Cheap to copy; thread-safe (the host's upcalls are).
class Host {
 public:
  Host(const lk_host_api* api, lk_host_ctx* ctx, const char* provider_name,
       int64_t deadline_unix_ms = 0)
      : api_(api), ctx_(ctx), name_(provider_name), deadline_unix_ms_(deadline_unix_ms) {}

  // Writes one line to the host's operational log (LK_LOG_*). Never pass secret values.
  // A no-op when the host offers no log upcall.
  void Log(int32_t level, const std::string& message) const {
    if (api_ != nullptr && LK_HAS_FN(api_, lk_host_api, log))
      api_->log(ctx_, level, message.c_str());
  }

  // Returns `len` zeroed bytes of host secure memory; RESOURCE_EXHAUSTED when the host is out
  // of memory. len 0 gives an empty SecretBytes without asking the host.
  Result<SecretBytes> AllocSecret(size_t len) const {
    if (len == 0) return SecretBytes();
    if (api_ == nullptr || !LK_HAS_FN(api_, lk_host_api, secret_alloc) ||
        !LK_HAS_FN(api_, lk_host_api, secret_free)) {
      return FailedPreconditionError(Prefix() + "the host offers no secret_alloc/secret_free");
    }
    void* p = api_->secret_alloc(ctx_, len);
    if (p == nullptr) {
      return ResourceExhaustedError(Prefix() + "the host is out of secure memory (asked for " +
                                    std::to_string(len) + " bytes)");
    }
    return SecretBytes(api_, ctx_, static_cast<uint8_t*>(p), len);
  }

  // AllocSecret(len) and copies `len` bytes from `bytes` into it.
  Result<SecretBytes> CopySecret(const void* bytes, size_t len) const {
    Result<SecretBytes> r = AllocSecret(len);
    if (r.ok() && len > 0) std::memcpy(r->data(), bytes, len);
    return r;
  }

  // OK while the call may go on; DEADLINE_EXCEEDED once the deadline passed (as the host's
  // check_deadline reports it, or by the clock when the host offers no such upcall);
  // CANCELLED when the host gave up on the call. Always OK for the instance context.
  Status CheckDeadline() const {
    if (api_ != nullptr && LK_HAS_FN(api_, lk_host_api, check_deadline)) {
      int32_t code = api_->check_deadline(ctx_);
      if (code == LK_CANCELLED) return CancelledError(Prefix() + "the host cancelled the call");
      if (code != LK_OK) return DeadlineExceededError(Prefix() + "deadline exceeded");
    }
    if (deadline_unix_ms_ > 0) {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      if (now >= deadline_unix_ms_) return DeadlineExceededError(Prefix() + "deadline exceeded");
    }
    return Status();
  }

  const lk_host_api* api() const { return api_; }
  lk_host_ctx* ctx() const { return ctx_; }
  const char* provider_name() const { return name_; }
  // "provider <name>: ", the prefix of every SDK-generated message.
  std::string Prefix() const { return std::string("provider ") + name_ + ": "; }

 private:
  const lk_host_api* api_;
  lk_host_ctx* ctx_;
  const char* name_;
  int64_t deadline_unix_ms_;
};

// Validated configuration, handed to Create. Values are views into host memory that is valid
// only during Create: copy what you keep (secret values with GetSecret, never into a string).
class Config {
 public:
  // Validates `kv` against the descriptor table `keys`: every key must be described, appear at
  // most once and parse as its type; every REQUIRED key without a default must be present.
  // Failures are INVALID_ARGUMENT naming the key ("provider hello: unknown config key \"x\"").
  // The values of SECRET keys never appear in messages.
  static Result<Config> Parse(const char* provider, const lk_config_key* keys, size_t key_count,
                              const lk_kv* kv, size_t kv_count) {
    std::string prefix = std::string("provider ") + provider + ": ";
    Config config;
    for (size_t i = 0; i < key_count; ++i) {
      config.entries_.push_back(Entry{&keys[i], {}, false});
    }
    if (kv == nullptr && kv_count > 0) {
      return InvalidArgumentError(prefix + "config is NULL but has " + std::to_string(kv_count) +
                                  " entries");
    }
    for (size_t i = 0; i < kv_count; ++i) {
      if (kv[i].key == nullptr || kv[i].value == nullptr) {
        return InvalidArgumentError(prefix + "config entry " + std::to_string(i) +
                                    " has a NULL key or value");
      }
      std::string_view key(kv[i].key);
      Entry* e = config.Find(key);
      if (e == nullptr) {
        return InvalidArgumentError(prefix + "unknown config key \"" + std::string(key) +
                                    "\" (known keys: " + config.KnownKeys() + ")");
      }
      if (e->present) {
        return InvalidArgumentError(prefix + "config key \"" + std::string(key) +
                                    "\" is given more than once");
      }
      e->present = true;
      e->value = std::string_view(kv[i].value, kv[i].value_len);
      const char* want = TypeError(e->desc->type, e->value);
      if (want != nullptr) {
        std::string msg = prefix + "config key \"" + std::string(key) + "\" must be " + want;
        if ((e->desc->flags & LK_CONFIG_SECRET) == 0)
          msg += ", got \"" + std::string(e->value) + "\"";
        return InvalidArgumentError(msg);
      }
    }
    for (Entry& e : config.entries_) {
      if (e.present || e.desc->key == nullptr) continue;
      if (e.desc->default_value != nullptr) {
        e.value = e.desc->default_value;
      } else if ((e.desc->flags & LK_CONFIG_REQUIRED) != 0) {
        return InvalidArgumentError(prefix + "missing required config key \"" + e.desc->key + "\"");
      }
    }
    return config;
  }

  // True when the key was configured (not merely defaulted).
  bool Has(std::string_view key) const {
    const Entry* e = Find(key);
    return e != nullptr && e->present;
  }
  // The configured value, else the descriptor's default, else "".
  std::string_view Raw(std::string_view key) const {
    const Entry* e = Find(key);
    return e == nullptr ? std::string_view() : e->value;
  }
  std::string GetString(std::string_view key) const { return std::string(Raw(key)); }
  std::string GetPath(std::string_view key) const { return std::string(Raw(key)); }
  // Typed getters for INT, BOOL and DURATION (milliseconds) keys; `fallback` when the key is
  // neither configured nor defaulted. Values were validated by Parse.
  int64_t GetInt(std::string_view key, int64_t fallback = 0) const {
    std::string_view v = Raw(key);
    return v.empty() ? fallback : ParseInt(v);
  }
  int64_t GetDurationMs(std::string_view key, int64_t fallback = 0) const {
    return GetInt(key, fallback);
  }
  bool GetBool(std::string_view key, bool fallback = false) const {
    std::string_view v = Raw(key);
    return v.empty() ? fallback : v == "true";
  }
  // Copies the value of `key` into host secure memory allocated under `host` (use the instance
  // Host from Create so the block lives until the instance is destroyed).
  Result<SecretBytes> GetSecret(std::string_view key, const Host& host) const {
    std::string_view v = Raw(key);
    return host.CopySecret(v.data(), v.size());
  }

 private:
  struct Entry {
    const lk_config_key* desc;
    std::string_view value;
    bool present;
  };

  Entry* Find(std::string_view key) {
    for (Entry& e : entries_) {
      if (e.desc->key != nullptr && key == e.desc->key) return &e;
    }
    return nullptr;
  }
  const Entry* Find(std::string_view key) const { return const_cast<Config*>(this)->Find(key); }
  std::string KnownKeys() const {
    std::string out;
    for (const Entry& e : entries_) {
      if (e.desc->key == nullptr) continue;
      if (!out.empty()) out += ", ";
      out += e.desc->key;
    }
    return out.empty() ? "none" : out;
  }
  // True when `v` is a decimal number that fits in int64 (optionally negative).
  static bool IsDecimal(std::string_view v, bool allow_minus) {
    bool neg = allow_minus && !v.empty() && v[0] == '-';
    if (neg) v.remove_prefix(1);
    if (v.empty() || v.size() > 19) return false;
    uint64_t n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot wrap a uint64
    }
    return n <= static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0);
  }
  // Parses a value IsDecimal accepted.
  static int64_t ParseInt(std::string_view v) {
    bool neg = !v.empty() && v[0] == '-';
    if (neg) v.remove_prefix(1);
    uint64_t n = 0;
    for (char c : v) n = n * 10 + static_cast<uint64_t>(c - '0');
    return neg ? static_cast<int64_t>(0 - n) : static_cast<int64_t>(n);
  }
  // Returns what the type requires when `v` does not parse as `type`, else nullptr.
  static const char* TypeError(uint32_t type, std::string_view v) {
    switch (type) {
      case LK_CONFIG_INT:
        return IsDecimal(v, true) ? nullptr : "a decimal integer";
      case LK_CONFIG_BOOL:
        return (v == "true" || v == "false") ? nullptr : "\"true\" or \"false\"";
      case LK_CONFIG_DURATION:
        return IsDecimal(v, false) ? nullptr : "a duration in milliseconds (decimal)";
      case LK_CONFIG_PATH:
        return (!v.empty() && v.find('\0') == std::string_view::npos) ? nullptr
                                                                      : "a non-empty path";
      default:
        return nullptr;
    }
  }

  std::vector<Entry> entries_;
};

// One fetch, as the provider sees it. Views are valid during the call only.
struct Request {
  std::string_view ref;  // the provider reference: a path, a variable, "name@3" ...
  std::string_view secret_id;
  std::string_view session_id;
  std::string_view build_id;
  std::string_view stage;
  uint32_t requester_uid = 0;
  uint32_t step_index = 0;
  uint32_t dockerfile_line = 0;
  int64_t deadline_unix_ms = 0;  // 0 = none
  Host host;                     // bound to the call context: allocate the value here
  const lk_request* raw = nullptr;

  // See Host::CheckDeadline. Long fetches poll it and return its status when not OK.
  Status CheckDeadline() const { return host.CheckDeadline(); }
};

// A successful fetch. `value` should come from Request::host (AllocSecret/CopySecret).
struct Response {
  SecretBytes value;
  bool no_cache = false;        // LK_SECRET_NO_CACHE: the host must not keep it past the step
  int64_t expires_unix_ms = 0;  // 0 = none
  std::string version;          // the served version (not secret); truncated to 63 bytes
};

// Passed to List; Emit reports one reference (copied by the host before Emit returns).
class ListSink {
 public:
  ListSink(lk_list_emit_fn emit, void* arg) : emit_(emit), arg_(arg) {}
  void Emit(const std::string& ref) const { emit_(arg_, ref.c_str()); }

 private:
  lk_list_emit_fn emit_;
  void* arg_;
};

namespace internal {

template <typename T, typename = void>
struct HasList : std::false_type {};
template <typename T>
struct HasList<T, std::void_t<decltype(std::declval<T&>().List(std::declval<const ListSink&>()))>>
    : std::true_type {};
template <typename T, typename = void>
struct HasHealth : std::false_type {};
template <typename T>
struct HasHealth<T, std::void_t<decltype(std::declval<T&>().Health())>> : std::true_type {};
template <typename T, typename = void>
struct HasConfig : std::false_type {};
template <typename T>
struct HasConfig<T, std::void_t<decltype(T::kConfig)>> : std::true_type {};
template <typename T, typename = void>
struct HasCapabilities : std::false_type {};
template <typename T>
struct HasCapabilities<T, std::void_t<decltype(T::kCapabilities)>> : std::true_type {};
template <typename T, typename = void>
struct HasThreading : std::false_type {};
template <typename T>
struct HasThreading<T, std::void_t<decltype(T::kThreading)>> : std::true_type {};

// Writes `status` into err and returns its code. Never throws.
inline int32_t WriteError(lk_error* err, const Status& status) noexcept {
  int32_t code = static_cast<int32_t>(status.code());
  if (code == LK_OK) code = LK_INTERNAL;  // cannot happen through Result; be safe anyway
  lk_error_set(err, code, "%s", status.message().c_str());
  if (err != nullptr && LK_HAS(err, lk_error, flags) && code == LK_UNAVAILABLE) {
    err->flags |= LK_ERROR_RETRYABLE;
  }
  return code;
}

// Maps the exception in flight to an error. Call only inside a catch block.
inline int32_t WriteCurrentException(lk_error* err, const char* name) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return lk_error_set(err, LK_RESOURCE_EXHAUSTED, "provider %s: out of memory", name);
  } catch (const std::exception& e) {
    return lk_error_set(err, LK_INTERNAL, "provider %s: internal error: %s", name, e.what());
  } catch (...) {
    return lk_error_set(err, LK_INTERNAL, "provider %s: internal error: unknown exception", name);
  }
}

inline std::string_view StringField(const char* s) { return s == nullptr ? "" : s; }

template <typename T>
struct Glue {
  struct Instance {
    Host host;
    std::unique_ptr<T> impl;
  };

  static constexpr const char* Name() { return T::kName; }
  static constexpr uint64_t Capabilities() {
    uint64_t caps = 0;
    if constexpr (HasCapabilities<T>::value) caps = T::kCapabilities;
    if constexpr (HasList<T>::value) caps |= LK_CAP_LIST;
    if constexpr (HasHealth<T>::value) caps |= LK_CAP_HEALTH;
    return caps;
  }
  static constexpr uint32_t Threading() {
    if constexpr (HasThreading<T>::value) {
      return T::kThreading;
    } else {
      return LK_THREADING_CONCURRENT;
    }
  }
  static constexpr const lk_config_key* ConfigKeys() {
    if constexpr (HasConfig<T>::value) {
      return T::kConfig;
    } else {
      return nullptr;
    }
  }
  static constexpr size_t ConfigKeyCount() {
    if constexpr (HasConfig<T>::value) {
      return std::size(T::kConfig);
    } else {
      return 0;
    }
  }

  static int32_t Create(const lk_host_api* host, lk_host_ctx* ctx, const lk_kv* config,
                        size_t config_count, lk_instance** out, lk_error* err) noexcept {
    try {
      if (out == nullptr) {
        return lk_error_set(err, LK_INVALID_ARGUMENT, "provider %s: create: out is NULL", Name());
      }
      *out = nullptr;
      if (host == nullptr) {
        return lk_error_set(err, LK_INVALID_ARGUMENT, "provider %s: create: host is NULL", Name());
      }
      Result<Config> cfg =
          Config::Parse(Name(), ConfigKeys(), ConfigKeyCount(), config, config_count);
      if (!cfg.ok()) return WriteError(err, cfg.status());
      auto inst = std::make_unique<Instance>(Instance{Host(host, ctx, Name()), nullptr});
      Result<std::unique_ptr<T>> impl = T::Create(*cfg, inst->host);
      if (!impl.ok()) return WriteError(err, impl.status());
      if (*impl == nullptr) {
        return lk_error_set(err, LK_INTERNAL, "provider %s: Create returned no instance", Name());
      }
      inst->impl = std::move(*impl);
      *out = reinterpret_cast<lk_instance*>(inst.release());
      return LK_OK;
    } catch (...) {
      return WriteCurrentException(err, Name());
    }
  }

  static void Destroy(lk_instance* instance) noexcept {
    delete reinterpret_cast<Instance*>(instance);
  }

  static int32_t Fetch(lk_instance* instance, const lk_request* req, lk_secret* out,
                       lk_error* err) noexcept {
    try {
      if (instance == nullptr || req == nullptr || out == nullptr) {
        return lk_error_set(err, LK_INVALID_ARGUMENT,
                            "provider %s: fetch: instance, request or response is NULL", Name());
      }
      if (!LK_HAS(out, lk_secret, len) || !LK_HAS(req, lk_request, ctx)) {
        return lk_error_set(err, LK_INVALID_ARGUMENT,
                            "provider %s: fetch: request or response struct_size too small",
                            Name());
      }
      auto* inst = reinterpret_cast<Instance*>(instance);
      const lk_host_api* api = inst->host.api();
      Request r{StringField(req->ref),
                StringField(req->secret_id),
                StringField(req->session_id),
                StringField(req->build_id),
                StringField(req->stage),
                req->requester_uid,
                req->step_index,
                req->dockerfile_line,
                req->deadline_unix_ms,
                Host(api, req->ctx, Name(), req->deadline_unix_ms),
                req};
      Status live = r.CheckDeadline();
      if (!live.ok()) return WriteError(err, live);
      Result<Response> res = inst->impl->Fetch(static_cast<const Request&>(r));
      if (!res.ok()) return WriteError(err, res.status());
      SecretBytes value = std::move(res->value);
      if (!value.empty() && value.ctx() != req->ctx) {
        // Allocated under the instance context: the host must receive a call-context block.
        Result<SecretBytes> copy = r.host.CopySecret(value.data(), value.size());
        if (!copy.ok()) return WriteError(err, copy.status());
        value = std::move(*copy);
      }
      if (LK_HAS(out, lk_secret, flags) && res->no_cache) out->flags |= LK_SECRET_NO_CACHE;
      if (LK_HAS(out, lk_secret, expires_unix_ms)) out->expires_unix_ms = res->expires_unix_ms;
      if (LK_HAS(out, lk_secret, version)) {
        size_t n = res->version.size();
        if (n >= sizeof(out->version)) n = sizeof(out->version) - 1;
        std::memcpy(out->version, res->version.data(), n);
        out->version[n] = '\0';
      }
      out->len = value.size();
      out->data = value.release();
      return LK_OK;
    } catch (...) {
      return WriteCurrentException(err, Name());
    }
  }

  static int32_t List(lk_instance* instance, lk_list_emit_fn emit, void* arg,
                      lk_error* err) noexcept {
    if constexpr (HasList<T>::value) {
      try {
        if (instance == nullptr || emit == nullptr) {
          return lk_error_set(err, LK_INVALID_ARGUMENT,
                              "provider %s: list: instance or emit is NULL", Name());
        }
        Status s = reinterpret_cast<Instance*>(instance)->impl->List(ListSink(emit, arg));
        return s.ok() ? LK_OK : WriteError(err, s);
      } catch (...) {
        return WriteCurrentException(err, Name());
      }
    } else {
      (void)instance;
      (void)emit;
      (void)arg;
      return lk_error_set(err, LK_UNIMPLEMENTED, "provider %s: list is not supported", Name());
    }
  }

  static int32_t Health(lk_instance* instance, lk_error* err) noexcept {
    if constexpr (HasHealth<T>::value) {
      try {
        if (instance == nullptr) {
          return lk_error_set(err, LK_INVALID_ARGUMENT, "provider %s: health: instance is NULL",
                              Name());
        }
        Status s = reinterpret_cast<Instance*>(instance)->impl->Health();
        return s.ok() ? LK_OK : WriteError(err, s);
      } catch (...) {
        return WriteCurrentException(err, Name());
      }
    } else {
      (void)instance;
      return lk_error_set(err, LK_UNIMPLEMENTED, "provider %s: health is not supported", Name());
    }
  }

  using ListFn = int32_t (*)(lk_instance*, lk_list_emit_fn, void*, lk_error*);
  using HealthFn = int32_t (*)(lk_instance*, lk_error*);

  // Absent optional members are NULL in the table; the host reports them as UNIMPLEMENTED.
  static constexpr lk_provider_api kApi = {
      {static_cast<uint32_t>(sizeof(lk_provider_api)), LK_ABI_MAJOR, LK_ABI_MINOR},
      T::kName,
      T::kVersion,
      Capabilities(),
      Threading(),
      0,
      ConfigKeys(),
      ConfigKeyCount(),
      &Create,
      &Destroy,
      &Fetch,
      HasList<T>::value ? static_cast<ListFn>(&List) : nullptr,
      HasHealth<T>::value ? static_cast<HealthFn>(&Health) : nullptr,
  };

  static int32_t Entry(uint16_t host_major, uint16_t host_minor,
                       const lk_provider_api** out) noexcept {
    (void)host_minor;  // every 1.x host reads only the members its own struct_size covers
    if (out != nullptr) *out = &kApi;
    return host_major == LK_ABI_MAJOR ? LK_OK : LK_FAILED_PRECONDITION;
  }
};

}  // namespace internal
}  // namespace latchkey::sdk

// Emits the plugin's exported entry point for provider class `ClassName` (see the top of this
// file). Use once per plugin, at global namespace scope.
#define LATCHKEY_DEFINE_PROVIDER(ClassName)                                                \
  extern "C" LK_EXPORT int32_t lk_provider_entry(uint16_t host_major, uint16_t host_minor, \
                                                 const lk_provider_api** out) {            \
    return ::latchkey::sdk::internal::Glue<ClassName>::Entry(host_major, host_minor, out); \
  }

#endif  // LATCHKEY_PROVIDER_HPP_
