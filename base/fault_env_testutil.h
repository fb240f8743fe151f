// Test-only: an Env that wraps the real POSIX one (base/env.h) and injects faults into the files
// it writes, so the durable stores' tests (audit log, blob and image store, build cache) share
// one fault injector. Faults: an errno on Append (ENOSPC, EIO, ...), optionally after a short
// write of the first half of the bytes; an errno on Sync (fsync failure); either from the Nth
// call on; a write or sync that hangs until released. It counts the calls.
//
// Faults apply to the files opened through OpenAppend and CreateTemp (so also to
// base::WriteFileAtomic's temporary file), optionally only to paths containing
// `FaultPlan::path_filter`. Failures read like the real ones: "writing <path>: No space left on
// device" with the code of base::ErrnoCode.
//
// Header-only so that it is not compiled into any library.
// Thread-safety: the plan is guarded by its own mutex; safe to change while the store runs.
#ifndef LATCHKEY_BASE_FAULT_ENV_TESTUTIL_H_
#define LATCHKEY_BASE_FAULT_ENV_TESTUTIL_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "base/env.h"
#include "base/errno_status.h"

namespace latchkey::base::testing {

struct FaultPlan {
  std::mutex mu;
  std::condition_variable cv;
  std::string path_filter;     // when not empty: fault only paths containing it
  int write_errno = 0;         // fail Append with this errno ...
  int write_fail_from = 1;     // ... from this (1-based) matching Append call on
  bool partial_write = false;  // ... after writing the first half of the bytes
  int sync_errno = 0;          // fail Sync with this errno ...
  int sync_fail_from = 1;      // ... from this (1-based) matching Sync call on
  bool hang_write = false;     // block every Append until Release()
  bool hang_sync = false;      // block every Sync until Release()
  bool skip_fsync = false;     // Sync succeeds without reaching the disk (fast sweeps)
  bool released = false;
  int hanging = 0;      // calls currently blocked
  int write_calls = 0;  // matching Append calls, failed or not
  int sync_calls = 0;   // matching Sync calls, failed or not
  int writes = 0;       // Append calls that reached the file
  int syncs = 0;        // Sync calls that reached the file
  // Called (outside the plan's lock) after every ReadTail: lets a test act between a store's
  // reading of a file and what it does next, as another process would.
  std::function<void(const std::string& path)> after_read_tail;

  void Release() {
    std::lock_guard<std::mutex> lk(mu);
    released = true;
    hang_write = hang_sync = false;
    cv.notify_all();
  }
  void Clear() {
    std::lock_guard<std::mutex> lk(mu);
    write_errno = sync_errno = 0;
    partial_write = false;
  }
  int Syncs() {
    std::lock_guard<std::mutex> lk(mu);
    return syncs;
  }
  int Hanging() {
    std::lock_guard<std::mutex> lk(mu);
    return hanging;
  }
  bool Matches(const std::string& path) {
    return path_filter.empty() || path.find(path_filter) != std::string::npos;
  }
};

class FaultFile final : public WritableFile {
 public:
  FaultFile(std::unique_ptr<WritableFile> real, std::string path, std::shared_ptr<FaultPlan> plan)
      : real_(std::move(real)), path_(std::move(path)), plan_(std::move(plan)) {}

  Status Append(std::string_view bytes) override {
    std::unique_lock<std::mutex> lk(plan_->mu);
    if (!plan_->Matches(path_)) {
      lk.unlock();
      return real_->Append(bytes);
    }
    ++plan_->write_calls;
    if (plan_->hang_write) {
      ++plan_->hanging;
      plan_->cv.wait(lk, [&] { return plan_->released; });
      --plan_->hanging;
    }
    if (plan_->write_errno != 0 && plan_->write_calls >= plan_->write_fail_from) {
      int err = plan_->write_errno;
      if (plan_->partial_write) {
        lk.unlock();
        (void)real_->Append(bytes.substr(0, bytes.size() / 2));
      }
      return ErrnoStatus("writing", path_, err);
    }
    ++plan_->writes;
    lk.unlock();
    return real_->Append(bytes);
  }

  Status Sync() override {
    std::unique_lock<std::mutex> lk(plan_->mu);
    if (!plan_->Matches(path_)) {
      lk.unlock();
      return real_->Sync();
    }
    ++plan_->sync_calls;
    if (plan_->hang_sync) {
      ++plan_->hanging;
      plan_->cv.wait(lk, [&] { return plan_->released; });
      --plan_->hanging;
    }
    if (plan_->sync_errno != 0 && plan_->sync_calls >= plan_->sync_fail_from) {
      return ErrnoStatus("syncing", path_, plan_->sync_errno);
    }
    ++plan_->syncs;
    if (plan_->skip_fsync) return Status::OK();
    lk.unlock();
    return real_->Sync();
  }

  uint64_t Size() const override { return real_->Size(); }
  Status Close() override { return real_->Close(); }

 private:
  std::unique_ptr<WritableFile> real_;
  std::string path_;
  std::shared_ptr<FaultPlan> plan_;
};

class FaultEnv final : public Env {
 public:
  explicit FaultEnv(std::shared_ptr<FaultPlan> plan, std::shared_ptr<Env> real = PosixEnv())
      : real_(std::move(real)), plan_(std::move(plan)) {}

  Result<std::shared_ptr<void>> LockExclusive(const std::string& path) override {
    return real_->LockExclusive(path);
  }
  Result<FileIdentity> Identify(const std::string& path) override { return real_->Identify(path); }
  Result<std::unique_ptr<WritableFile>> OpenAppend(const std::string& path) override {
    LK_ASSIGN_OR_RETURN(auto file, real_->OpenAppend(path));
    return std::unique_ptr<WritableFile>(std::make_unique<FaultFile>(std::move(file), path, plan_));
  }
  Result<std::unique_ptr<WritableFile>> CreateTemp(const std::string& dir,
                                                   const std::string& prefix, uint32_t mode,
                                                   std::string* path) override {
    LK_ASSIGN_OR_RETURN(auto file, real_->CreateTemp(dir, prefix, mode, path));
    return std::unique_ptr<WritableFile>(
        std::make_unique<FaultFile>(std::move(file), *path, plan_));
  }
  Status CreateDirs(const std::string& dir) override { return real_->CreateDirs(dir); }
  bool Exists(const std::string& path) override { return real_->Exists(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return real_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return real_->Remove(path); }
  Status Truncate(const std::string& path, uint64_t size) override {
    return real_->Truncate(path, size);
  }
  Result<FileTail> ReadTail(const std::string& path, size_t max_bytes) override {
    auto tail = real_->ReadTail(path, max_bytes);
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard<std::mutex> lk(plan_->mu);
      hook = plan_->after_read_tail;
    }
    if (hook) hook(path);
    return tail;
  }
  // The real one's steps, with the temporary file written through a FaultFile.

 private:
  std::shared_ptr<Env> real_;
  std::shared_ptr<FaultPlan> plan_;
};

// `message` with the six characters after the first `marker` replaced by "XXXXXX": makes the
// name of a temporary file (mkstemp's random suffix) comparable in an exact-text assertion.
inline std::string MaskTempName(std::string message, std::string_view marker) {
  size_t at = message.find(marker);
  if (at != std::string::npos && at + marker.size() + 6 <= message.size()) {
    message.replace(at + marker.size(), 6, "XXXXXX");
  }
  return message;
}

}  // namespace latchkey::base::testing

#endif  // LATCHKEY_BASE_FAULT_ENV_TESTUTIL_H_
