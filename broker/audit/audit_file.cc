#include "broker/audit/audit_file.h"

#include <utility>

#include "base/errno_status.h"
#include "base/file.h"

namespace latchkey::audit {

namespace {

// The audit log fails closed, so every I/O failure but a missing file is UNAVAILABLE: an
// explicit override of base::ErrnoCode. The wording is base::Env's.
Status UnavailableUnlessNotFound(const Status& s) {
  if (s.ok() || s.code() == StatusCode::kNotFound) return s;
  return base::WithCode(s, StatusCode::kUnavailable);
}

template <typename T>
Result<T> UnavailableUnlessNotFound(Result<T> r) {
  if (r.ok()) return r;
  return UnavailableUnlessNotFound(r.status());
}

class FailClosedFile final : public AuditFile {
 public:
  explicit FailClosedFile(std::unique_ptr<AuditFile> inner) : inner_(std::move(inner)) {}
  Status Append(std::string_view bytes) override {
    return UnavailableUnlessNotFound(inner_->Append(bytes));
  }
  Status Sync() override { return UnavailableUnlessNotFound(inner_->Sync()); }
  uint64_t Size() const override { return inner_->Size(); }
  Status Close() override { return UnavailableUnlessNotFound(inner_->Close()); }

 private:
  std::unique_ptr<AuditFile> inner_;
};

class FailClosedEnv final : public AuditFs {
 public:
  explicit FailClosedEnv(std::shared_ptr<AuditFs> inner) : inner_(std::move(inner)) {}

  Result<std::shared_ptr<void>> LockExclusive(const std::string& path) override {
    auto r = inner_->LockExclusive(path);
    if (r.ok()) return r;
    return base::WithCode(r.status(), StatusCode::kUnavailable);
  }
  Result<FileIdentity> Identify(const std::string& path) override {
    return UnavailableUnlessNotFound(inner_->Identify(path));
  }
  Result<std::unique_ptr<AuditFile>> OpenAppend(const std::string& path) override {
    LK_ASSIGN_OR_RETURN(auto file, UnavailableUnlessNotFound(inner_->OpenAppend(path)));
    return std::unique_ptr<AuditFile>(std::make_unique<FailClosedFile>(std::move(file)));
  }
  Result<std::unique_ptr<AuditFile>> CreateTemp(const std::string& dir, const std::string& prefix,
                                                uint32_t mode, std::string* path) override {
    LK_ASSIGN_OR_RETURN(auto file,
                        UnavailableUnlessNotFound(inner_->CreateTemp(dir, prefix, mode, path)));
    return std::unique_ptr<AuditFile>(std::make_unique<FailClosedFile>(std::move(file)));
  }
  Status CreateDirs(const std::string& dir) override {
    return UnavailableUnlessNotFound(inner_->CreateDirs(dir));
  }
  bool Exists(const std::string& path) override { return inner_->Exists(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return UnavailableUnlessNotFound(inner_->Rename(from, to));
  }
  Status Remove(const std::string& path) override {
    return UnavailableUnlessNotFound(inner_->Remove(path));
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    return UnavailableUnlessNotFound(inner_->Truncate(path, size));
  }
  Result<FileTail> ReadTail(const std::string& path, size_t max_bytes) override {
    return UnavailableUnlessNotFound(inner_->ReadTail(path, max_bytes));
  }

 private:
  std::shared_ptr<AuditFs> inner_;
};

}  // namespace

std::shared_ptr<AuditFs> FailClosed(std::shared_ptr<AuditFs> env) {
  return std::make_shared<FailClosedEnv>(std::move(env));
}

std::shared_ptr<AuditFs> PosixAuditFs() {
  static const std::shared_ptr<AuditFs> fs = FailClosed(base::PosixEnv());
  return fs;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  Result<std::string> r = base::ReadFile(path, "reading");
  if (r.ok()) return r;
  return UnavailableUnlessNotFound(r.status());
}

}  // namespace latchkey::audit
