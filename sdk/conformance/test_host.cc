#include "test_host.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace latchkey::conformance {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// A wipe the optimiser keeps.
void Wipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  while (n-- > 0) *v++ = 0;
}

std::string PtrText(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

TestHost::TestHost() {
  std::memset(&api_, 0, sizeof api_);
  api_.header.struct_size = sizeof(lk_host_api);
  api_.header.abi_major = LK_ABI_MAJOR;
  api_.header.abi_minor = LK_ABI_MINOR;
  api_.secret_alloc = &TestHost::Alloc;
  api_.secret_free = &TestHost::Free;
  api_.log = &TestHost::Log;
  api_.check_deadline = &TestHost::CheckDeadline;
}

TestHost::~TestHost() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [ptr, block] : blocks_) FreeBlockLocked(ptr, block.size);
  blocks_.clear();
}

lk_host_ctx* TestHost::NewInstanceContext() {
  auto ctx = std::make_unique<lk_host_ctx>();
  ctx->owner = this;
  std::lock_guard<std::mutex> lock(mu_);
  ctx->id = next_id_++;
  contexts_.push_back(std::move(ctx));
  return contexts_.back().get();
}

lk_host_ctx* TestHost::NewCallContext(int64_t deadline_unix_ms, int32_t forced) {
  auto ctx = std::make_unique<lk_host_ctx>();
  ctx->owner = this;
  ctx->is_call = true;
  ctx->deadline_unix_ms = deadline_unix_ms;
  ctx->forced.store(forced);
  std::lock_guard<std::mutex> lock(mu_);
  ctx->id = next_id_++;
  contexts_.push_back(std::move(ctx));
  return contexts_.back().get();
}

void TestHost::FreeBlockLocked(void* ptr, size_t size) {
  Wipe(ptr, size);
  std::free(ptr);
  ++frees_;
}

TestHost::CallEnd TestHost::EndCall(lk_host_ctx* call, const uint8_t* data, size_t len,
                                    const std::vector<uint8_t>* expected) {
  CallEnd end;
  std::lock_guard<std::mutex> lock(mu_);
  if (data == nullptr) {
    if (len != 0) end.data_problem = "out->data is NULL but out->len is " + std::to_string(len);
  } else {
    auto it = blocks_.find(const_cast<uint8_t*>(data));
    if (it == blocks_.end()) {
      end.data_problem = "out->data (" + PtrText(data) +
                         ") is not the start of a block from host->secret_alloc (allocated with "
                         "malloc/new, or freed already?)";
    } else if (it->second.ctx != call) {
      end.data_problem =
          "out->data was allocated under the instance context, not under the "
          "call's req->ctx";
    } else if (it->second.size < len) {
      end.data_problem = "out->len (" + std::to_string(len) + ") exceeds the allocated block (" +
                         std::to_string(it->second.size) + " bytes)";
    }
  }
  if (end.data_problem.empty() && expected != nullptr) {
    if (len != expected->size() || (len > 0 && std::memcmp(data, expected->data(), len) != 0)) {
      end.data_problem = "the value differs from the expected file (" + std::to_string(len) +
                         " bytes returned, " + std::to_string(expected->size()) + " expected)";
    }
  }
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (it->second.ctx == call) {
      if (it->first != data) ++end.reclaimed;
      FreeBlockLocked(it->first, it->second.size);
      it = blocks_.erase(it);
    } else {
      ++it;
    }
  }
  return end;
}

size_t TestHost::Outstanding(const lk_host_ctx* ctx) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [ptr, block] : blocks_) {
    if (block.ctx == ctx) ++n;
  }
  return n;
}

size_t TestHost::ReleaseContext(const lk_host_ctx* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (it->second.ctx == ctx) {
      FreeBlockLocked(it->first, it->second.size);
      it = blocks_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

uint64_t TestHost::alloc_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return allocs_;
}

uint64_t TestHost::free_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return frees_;
}

std::vector<std::string> TestHost::TakeViolations() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(violations_);
}

std::vector<TestHost::LogLine> TestHost::Logs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_;
}

void* TestHost::Alloc(lk_host_ctx* ctx, size_t len) {
  if (ctx == nullptr || ctx->owner == nullptr) std::abort();  // plugin passed a bogus context
  auto* self = static_cast<TestHost*>(ctx->owner);
  void* p = std::calloc(1, len == 0 ? 1 : len);
  if (p == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(self->mu_);
  self->blocks_[p] = Block{ctx, len};
  ++self->allocs_;
  return p;
}

void TestHost::Free(lk_host_ctx* ctx, void* ptr) {
  if (ptr == nullptr) return;
  if (ctx == nullptr || ctx->owner == nullptr) std::abort();
  auto* self = static_cast<TestHost*>(ctx->owner);
  std::lock_guard<std::mutex> lock(self->mu_);
  auto it = self->blocks_.find(ptr);
  if (it == self->blocks_.end()) {
    self->violations_.push_back("secret_free(" + PtrText(ptr) +
                                ") of a pointer that is not a live secret_alloc block");
    return;
  }
  self->FreeBlockLocked(it->first, it->second.size);
  self->blocks_.erase(it);
}

void TestHost::Log(lk_host_ctx* ctx, int32_t level, const char* message) {
  if (ctx == nullptr || ctx->owner == nullptr) std::abort();
  auto* self = static_cast<TestHost*>(ctx->owner);
  std::lock_guard<std::mutex> lock(self->mu_);
  if (message == nullptr) {
    self->violations_.push_back("log() called with a NULL message");
    return;
  }
  if (level < LK_LOG_DEBUG || level > LK_LOG_ERROR) {
    self->violations_.push_back("log() called with level " + std::to_string(level) +
                                " (valid: LK_LOG_DEBUG..LK_LOG_ERROR)");
  }
  self->logs_.push_back(LogLine{level, message});
}

int32_t TestHost::CheckDeadline(lk_host_ctx* ctx) {
  if (ctx == nullptr || ctx->owner == nullptr) std::abort();
  int32_t forced = ctx->forced.load();
  if (forced != LK_OK) return forced;
  if (ctx->deadline_unix_ms > 0 && NowUnixMs() >= ctx->deadline_unix_ms) {
    return LK_DEADLINE_EXCEEDED;
  }
  return LK_OK;
}

}  // namespace latchkey::conformance
