// Test-only: an AuditFs that wraps the real POSIX one and injects faults (errno on write or
// sync, a partial write, a write or sync that hangs until released) and counts calls.
// Header-only so that it is not compiled into latchkey_broker.
//
// Thread-safety: the plan is guarded by its own mutex; safe to change while the log runs.
#ifndef LATCHKEY_BROKER_AUDIT_FAULT_FS_TESTUTIL_H_
#define LATCHKEY_BROKER_AUDIT_FAULT_FS_TESTUTIL_H_

#include <errno.h>
#include <unistd.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "base/errno_status.h"
#include "broker/audit/audit_file.h"

namespace latchkey::audit::testing {

struct FaultPlan {
  std::mutex mu;
  std::condition_variable cv;
  int write_errno = 0;         // fail every Append with this errno
  bool partial_write = false;  // ... after writing the first half of the bytes
  int sync_errno = 0;          // fail every Sync with this errno
  // Truncate without its fsync and WriteFileAtomic never syncing: for tests that reopen a log
  // thousands of times (the data still goes through the real calls).
  bool skip_fsync = false;
  bool hang_write = false;  // block every Append until Release()
  bool hang_sync = false;   // block every Sync until Release()
  bool released = false;
  int hanging = 0;  // calls currently blocked
  int writes = 0;   // Append calls that reached the file
  int syncs = 0;    // Sync calls that reached the file

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
};

class FaultFile final : public AuditFile {
 public:
  FaultFile(std::unique_ptr<AuditFile> real, std::string path, std::shared_ptr<FaultPlan> plan)
      : real_(std::move(real)), path_(std::move(path)), plan_(std::move(plan)) {}

  Status Append(std::string_view bytes) override {
    std::unique_lock<std::mutex> lk(plan_->mu);
    if (plan_->hang_write) {
      ++plan_->hanging;
      plan_->cv.wait(lk, [&] { return plan_->released; });
      --plan_->hanging;
    }
    if (plan_->write_errno != 0) {
      int err = plan_->write_errno;
      if (plan_->partial_write) {
        lk.unlock();
        (void)real_->Append(bytes.substr(0, bytes.size() / 2));
      }
      return UnavailableError("writing " + path_ + ": " + base::ErrnoText(err));
    }
    ++plan_->writes;
    lk.unlock();
    return real_->Append(bytes);
  }

  Status Sync() override {
    std::unique_lock<std::mutex> lk(plan_->mu);
    if (plan_->hang_sync) {
      ++plan_->hanging;
      plan_->cv.wait(lk, [&] { return plan_->released; });
      --plan_->hanging;
    }
    if (plan_->sync_errno != 0) {
      return UnavailableError("syncing " + path_ + ": " + base::ErrnoText(plan_->sync_errno));
    }
    ++plan_->syncs;
    lk.unlock();
    return real_->Sync();
  }

  uint64_t Size() const override { return real_->Size(); }
  Status Close() override { return real_->Close(); }

 private:
  std::unique_ptr<AuditFile> real_;
  std::string path_;
  std::shared_ptr<FaultPlan> plan_;
};

class FaultFs final : public AuditFs {
 public:
  explicit FaultFs(std::shared_ptr<FaultPlan> plan)
      : real_(PosixAuditFs()), plan_(std::move(plan)) {}

  Result<std::unique_ptr<AuditFile>> OpenAppend(const std::string& path) override {
    LK_ASSIGN_OR_RETURN(auto file, real_->OpenAppend(path));
    return std::unique_ptr<AuditFile>(std::make_unique<FaultFile>(std::move(file), path, plan_));
  }
  Status CreateDirs(const std::string& dir) override { return real_->CreateDirs(dir); }
  bool Exists(const std::string& path) override { return real_->Exists(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return real_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return real_->Remove(path); }
  Status Truncate(const std::string& path, uint64_t size) override {
    if (!SkipFsync()) return real_->Truncate(path, size);
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return base::ErrnoStatus("truncate", path, errno);
    }
    return Status::OK();
  }
  Result<FileTail> ReadTail(const std::string& path, size_t max_bytes) override {
    return real_->ReadTail(path, max_bytes);
  }
  Status WriteFileAtomic(const std::string& path, std::string_view bytes, bool sync) override {
    return real_->WriteFileAtomic(path, bytes, sync && !SkipFsync());
  }

 private:
  bool SkipFsync() {
    std::lock_guard<std::mutex> lk(plan_->mu);
    return plan_->skip_fsync;
  }

  std::shared_ptr<AuditFs> real_;
  std::shared_ptr<FaultPlan> plan_;
};

}  // namespace latchkey::audit::testing

#endif  // LATCHKEY_BROKER_AUDIT_FAULT_FS_TESTUTIL_H_
