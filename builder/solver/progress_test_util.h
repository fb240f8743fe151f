// Test helpers for the progress writers: an in-memory output fd, a fake clock, and a secret
// registered in SecretRegistry::Global() for the duration of a test.
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_TEST_UTIL_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_TEST_UTIL_H_

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "builder/solver/progress.h"
#include "secure/redactor.h"
#include "secure/secret_buffer.h"

namespace latchkey::build::testing {

// An anonymous in-memory file to write progress to; contents() reads everything written.
class MemFd {
 public:
  MemFd() : fd_(::memfd_create("progress", 0)) { EXPECT_GE(fd_, 0); }
  ~MemFd() { ::close(fd_); }
  int fd() const { return fd_; }
  std::string contents() const {
    std::string out;
    char buf[4096];
    off_t off = 0;
    for (;;) {
      ssize_t n = ::pread(fd_, buf, sizeof(buf), off);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

 private:
  int fd_;
};

// A clock that moves only when told to.
class FakeClock {
 public:
  void Advance(std::chrono::milliseconds d) { *now_ += d.count(); }
  ProgressClock fn() const {
    auto now = now_;
    return [now] {
      return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now->load()));
    };
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> now_ = std::make_shared<std::atomic<int64_t>>(1000000);
};

// Registers `value` with SecretRegistry::Global() while in scope.
class ScopedSecret {
 public:
  explicit ScopedSecret(std::string_view value) {
    auto buf = SecretBuffer::CopyOf(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
    EXPECT_TRUE(buf.ok());
    auto handle =
        SecretRegistry::Global().Add(std::make_shared<const SecretBuffer>(std::move(buf).value()));
    EXPECT_TRUE(handle.ok());
    handle_ = *handle;
  }
  ~ScopedSecret() { SecretRegistry::Global().Remove(handle_); }

 private:
  uint64_t handle_ = 0;
};

}  // namespace latchkey::build::testing

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_TEST_UTIL_H_
