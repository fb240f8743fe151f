// The conformance suite's own host: a complete lk_host_api whose upcalls are instrumented.
// It tracks every secret_alloc block by context, records misuse (frees of unknown pointers),
// captures log lines and lets a check control what check_deadline reports per call.
//
// Thread-safety: every upcall and every accessor is thread-safe (one mutex).
#ifndef LATCHKEY_SDK_CONFORMANCE_TEST_HOST_H_
#define LATCHKEY_SDK_CONFORMANCE_TEST_HOST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "latchkey/provider.h"

// The host context the plugin sees as an opaque pointer.
struct lk_host_ctx {
  void* owner = nullptr;  // the TestHost
  uint64_t id = 0;
  bool is_call = false;
  int64_t deadline_unix_ms = 0;        // 0 = none
  std::atomic<int32_t> forced{LK_OK};  // returned by check_deadline when not LK_OK
};

namespace latchkey::conformance {

// Milliseconds since the Unix epoch (CLOCK_REALTIME), as lk_request.deadline_unix_ms uses.
int64_t NowUnixMs();

class TestHost {
 public:
  struct LogLine {
    int32_t level;
    std::string text;
  };
  // What happened to the blocks of one call context when the call ended.
  struct CallEnd {
    std::string data_problem;  // empty when out->data is valid for the call (or NULL with len 0)
    size_t reclaimed = 0;      // blocks the plugin left under the call, freed by the host
  };

  TestHost();
  ~TestHost();
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  // The full v1 upcall table.
  const lk_host_api* api() const { return &api_; }

  // A new context; owned by the host, valid until the host is destroyed.
  lk_host_ctx* NewInstanceContext();
  lk_host_ctx* NewCallContext(int64_t deadline_unix_ms, int32_t forced = LK_OK);

  // Ends a call: checks that `data` (len bytes) is a block allocated under `call` (or NULL with
  // len 0), then frees every block of `call` (including data) as the real host would.
  // When `expected` is non-null the data must equal it (reported in data_problem).
  CallEnd EndCall(lk_host_ctx* call, const uint8_t* data, size_t len,
                  const std::vector<uint8_t>* expected);

  // Blocks currently allocated under `ctx`.
  size_t Outstanding(const lk_host_ctx* ctx) const;
  // Frees what is still allocated under `ctx` (after destroy) and returns how many blocks.
  size_t ReleaseContext(const lk_host_ctx* ctx);

  uint64_t alloc_count() const;
  uint64_t free_count() const;
  // Misuse seen so far ("secret_free(0x..) of a pointer the host never allocated"); cleared by
  // TakeViolations.
  std::vector<std::string> TakeViolations();
  std::vector<LogLine> Logs() const;

 private:
  struct Block {
    const lk_host_ctx* ctx;
    size_t size;
  };
  static void* Alloc(lk_host_ctx* ctx, size_t len);
  static void Free(lk_host_ctx* ctx, void* ptr);
  static void Log(lk_host_ctx* ctx, int32_t level, const char* message);
  static int32_t CheckDeadline(lk_host_ctx* ctx);
  void FreeBlockLocked(void* ptr, size_t size);

  lk_host_api api_;
  mutable std::mutex mu_;
  std::map<void*, Block> blocks_;
  std::deque<std::unique_ptr<lk_host_ctx>> contexts_;
  std::vector<std::string> violations_;
  std::vector<LogLine> logs_;
  uint64_t allocs_ = 0;
  uint64_t frees_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace latchkey::conformance

#endif  // LATCHKEY_SDK_CONFORMANCE_TEST_HOST_H_
