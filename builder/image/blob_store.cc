#include "builder/image/blob_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

namespace latchkey::image {
namespace {

// Reads the file open as `fd` (named `path` in errors) to its end, handing each chunk to `fn`.
Status ReadChunks(int fd, const std::string& path,
                  const std::function<Status(const char* data, size_t n)>& fn) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) return Status::OK();
    LK_RETURN_IF_ERROR(fn(buf, static_cast<size_t>(n)));
  }
}

Status Corrupt(std::string_view digest, const std::string& actual) {
  return DataLossError("blob " + std::string(digest) + " is corrupt: its content hashes to " +
                       actual);
}

}  // namespace

BlobStore::Writer::Writer(std::string root, base::Env* env,
                          std::unique_ptr<base::WritableFile> file, std::string tmp_path)
    : root_(std::move(root)),
      env_(env),
      file_(std::move(file)),
      tmp_path_(std::move(tmp_path)),
      hash_(std::make_unique<Sha256>()) {}

BlobStore::Writer::~Writer() {
  if (!done_ && !tmp_path_.empty()) {
    if (file_) (void)file_->Close();
    (void)env_->Remove(tmp_path_);
  }
}

Status BlobStore::Writer::Write(const void* data, size_t size) {
  if (done_) return FailedPreconditionError("blob writer: write after commit");
  hash_->Update(data, size);
  size_ += static_cast<int64_t>(size);
  return file_->Append(std::string_view(static_cast<const char*>(data), size));
}

Result<BlobInfo> BlobStore::Writer::Commit(std::string_view expected_digest) {
  if (done_) return FailedPreconditionError("blob writer: committed twice");
  done_ = true;
  BlobInfo info{hash_->Finish(), size_};
  auto fail = [&](Status st) -> Result<BlobInfo> {
    (void)file_->Close();
    (void)env_->Remove(tmp_path_);
    return st;
  };
  if (!expected_digest.empty() && expected_digest != info.digest) {
    return fail(DataLossError("blob " + std::string(expected_digest) + ": digest mismatch (got " +
                              info.digest + ")"));
  }
  if (Status st = file_->Sync(); !st.ok()) return fail(st);
  if (Status st = file_->Close(); !st.ok()) return fail(st);
  std::string final_path = root_ + "/blobs/sha256/" + std::string(DigestHex(info.digest));
  auto existing = env_->Identify(final_path);
  if (existing.ok() && existing->size == static_cast<uint64_t>(info.size)) {
    (void)env_->Remove(tmp_path_);  // dedup: identical content already published
    return info;
  }
  // Rename fsyncs the directory. On failure the blob may have been published (and is complete).
  if (Status st = env_->Rename(tmp_path_, final_path); !st.ok()) return fail(st);
  return info;
}

Result<BlobStore> BlobStore::Open(const std::string& root, base::Env* env) {
  LK_RETURN_IF_ERROR(MakeDirs(root + "/blobs/sha256"));
  LK_RETURN_IF_ERROR(MakeDirs(root + "/ingest"));
  return BlobStore(root, env);
}

Result<BlobStore::Writer> BlobStore::NewWriter() const {
  // Blobs may be layers of secret builds: owner only.
  std::string tmp;
  LK_ASSIGN_OR_RETURN(auto file, env_->CreateTemp(root_ + "/ingest", "blob-", 0600, &tmp));
  return Writer(root_, env_, std::move(file), tmp);
}

Result<BlobInfo> BlobStore::PutBytes(std::string_view data) {
  LK_ASSIGN_OR_RETURN(Writer w, NewWriter());
  LK_RETURN_IF_ERROR(w.Write(data.data(), data.size()));
  return w.Commit();
}

Result<BlobInfo> BlobStore::PutFile(const std::string& path) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("open", path, errno);
  LK_ASSIGN_OR_RETURN(Writer w, NewWriter());
  LK_RETURN_IF_ERROR(
      ReadChunks(in.get(), path, [&](const char* data, size_t n) { return w.Write(data, n); }));
  return w.Commit();
}

bool BlobStore::Has(std::string_view digest) const {
  if (!IsValidDigest(digest)) return false;
  struct stat st;
  return ::stat(PathFor(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string BlobStore::PathFor(std::string_view digest) const {
  return root_ + "/blobs/sha256/" + std::string(DigestHex(digest));
}

Result<std::string> BlobStore::Path(std::string_view digest) const {
  if (!IsValidDigest(digest)) {
    return InvalidArgumentError("invalid digest \"" + std::string(digest) +
                                "\": want sha256:<64 lowercase hex digits>");
  }
  if (!Has(digest)) {
    return NotFoundError("blob " + std::string(digest) + " is not in the store at " + root_);
  }
  return PathFor(digest);
}

Result<std::string> BlobStore::ReadBytes(std::string_view digest, bool verify) const {
  LK_ASSIGN_OR_RETURN(std::string path, Path(digest));
  LK_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (verify) {
    std::string actual = Sha256Digest(data);
    if (actual != digest) return Corrupt(digest, actual);
  }
  return data;
}

Status BlobStore::Verify(std::string_view digest) const {
  LK_ASSIGN_OR_RETURN(std::string path, Path(digest));
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("open", path, errno);
  Sha256 h;
  LK_RETURN_IF_ERROR(ReadChunks(in.get(), path, [&](const char* data, size_t n) {
    h.Update(data, n);
    return Status::OK();
  }));
  std::string actual = h.Finish();
  if (actual != digest) return Corrupt(digest, actual);
  return Status::OK();
}

}  // namespace latchkey::image
