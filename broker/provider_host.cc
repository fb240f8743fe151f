#include "broker/provider_host.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "secure/secret_buffer.h"

namespace latchkey {

namespace {

// Longest plugin log line forwarded; the rest is cut and marked.
constexpr size_t kMaxLogLine = 4096;

void* HostSecretAlloc(lk_host_ctx* ctx, size_t len) {
  HostContext* self = HostContext::FromHandle(ctx);
  return self == nullptr ? nullptr : self->Alloc(len);
}

void HostSecretFree(lk_host_ctx* ctx, void* ptr) {
  HostContext* self = HostContext::FromHandle(ctx);
  if (self != nullptr) self->Free(ptr);
}

void HostLog(lk_host_ctx* ctx, int32_t level, const char* message) {
  HostContext* self = HostContext::FromHandle(ctx);
  if (self != nullptr) self->Log(level, message);
}

int32_t HostCheckDeadline(lk_host_ctx* ctx) {
  HostContext* self = HostContext::FromHandle(ctx);
  return self == nullptr ? LK_OK : self->CheckDeadline();
}

const lk_host_api kHostApi = {
    {static_cast<uint32_t>(sizeof(lk_host_api)), LK_ABI_MAJOR, LK_ABI_MINOR},
    &HostSecretAlloc,
    &HostSecretFree,
    &HostLog,
    &HostCheckDeadline,
};

void WipeAndFree(void* ptr, size_t len) {
  sodium_memzero(ptr, len);
  sodium_free(ptr);
}

// One line, printable: control characters become \n, \t, \xNN.
std::string SanitizeLogLine(const char* message) {
  if (message == nullptr) return "(null message)";
  size_t len = strnlen(message, kMaxLogLine + 1);
  std::string out;
  out.reserve(len);
  for (size_t i = 0; i < len && i < kMaxLogLine; ++i) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (len > kMaxLogLine) out += " [truncated]";
  return out;
}

}  // namespace

const lk_host_api* HostApi() { return &kHostApi; }

std::shared_ptr<spdlog::logger> PluginLogger(const std::string& provider_name) {
  static std::mutex* mu = new std::mutex();
  std::lock_guard<std::mutex> lock(*mu);
  std::string name = "plugin." + provider_name;
  std::shared_ptr<spdlog::logger> logger = spdlog::get(name);
  if (logger != nullptr) return logger;
  logger = spdlog::default_logger()->clone(name);
  try {
    spdlog::register_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
    // Registered by someone else (not through this function) in the meantime: use theirs.
    std::shared_ptr<spdlog::logger> existing = spdlog::get(name);
    if (existing != nullptr) return existing;
  }
  return logger;
}

HostContext::HostContext(Kind kind, const std::string& provider_name,
                         std::optional<std::chrono::steady_clock::time_point> deadline,
                         const std::atomic<bool>* cancelled)
    : kind_(kind),
      provider_name_(provider_name),
      deadline_(deadline),
      cancelled_(cancelled),
      logger_(PluginLogger(provider_name)) {}

HostContext::~HostContext() { ReleaseAll(); }

void* HostContext::Alloc(size_t len) {
  if (!EnsureSodium().ok()) return nullptr;
  size_t size = len == 0 ? 1 : len;
  void* p = sodium_malloc(size);
  if (p == nullptr) return nullptr;
  std::memset(p, 0, size);
  std::lock_guard<std::mutex> lock(mu_);
  blocks_.emplace(p, size);
  return p;
}

void HostContext::Free(void* ptr) {
  if (ptr == nullptr) return;
  size_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(ptr);
    if (it == blocks_.end()) {
      logger_->error(
          "plugin bug: provider {} called secret_free on memory this context did "
          "not allocate; ignored",
          provider_name_);
      return;
    }
    size = it->second;
    blocks_.erase(it);
  }
  WipeAndFree(ptr, size);
}

std::optional<size_t> HostContext::BlockSize(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocks_.find(const_cast<void*>(ptr));
  if (it == blocks_.end()) return std::nullopt;
  return it->second;
}

bool HostContext::TakeBlock(void* ptr) {
  std::lock_guard<std::mutex> lock(mu_);
  return blocks_.erase(ptr) == 1;
}

size_t HostContext::ReleaseAll() {
  std::map<void*, size_t> blocks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    blocks.swap(blocks_);
  }
  for (const auto& [ptr, size] : blocks) WipeAndFree(ptr, size);
  return blocks.size();
}

size_t HostContext::block_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return blocks_.size();
}

int32_t HostContext::CheckDeadline() const {
  if (cancelled_ != nullptr && cancelled_->load(std::memory_order_acquire)) return LK_CANCELLED;
  if (deadline_.has_value() && std::chrono::steady_clock::now() >= *deadline_) {
    return LK_DEADLINE_EXCEEDED;
  }
  return LK_OK;
}

void HostContext::Log(int32_t level, const char* message) {
  // LK_LOG_DEBUG..LK_LOG_ERROR; anything else logs at info.
  spdlog::level::level_enum lvl = level == LK_LOG_DEBUG   ? spdlog::level::debug
                                  : level == LK_LOG_WARN  ? spdlog::level::warn
                                  : level == LK_LOG_ERROR ? spdlog::level::err
                                                          : spdlog::level::info;
  logger_->log(lvl, "{}", SanitizeLogLine(message));
}

}  // namespace latchkey
