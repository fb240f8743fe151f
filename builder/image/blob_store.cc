#include "builder/image/blob_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace latchkey::image {

BlobStore::Writer::Writer(std::string root, UniqueFd fd, std::string tmp_path)
    : root_(std::move(root)),
      fd_(std::move(fd)),
      tmp_path_(std::move(tmp_path)),
      hash_(std::make_unique<Sha256>()) {}

BlobStore::Writer::~Writer() {
  if (!done_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

Status BlobStore::Writer::Write(const void* data, size_t size) {
  if (done_) return FailedPreconditionError("blob writer: write after commit");
  hash_->Update(data, size);
  size_ += static_cast<int64_t>(size);
  return WriteAll(fd_.get(), data, size, tmp_path_);
}

Result<BlobInfo> BlobStore::Writer::Commit(std::string_view expected_digest) {
  if (done_) return FailedPreconditionError("blob writer: committed twice");
  done_ = true;
  BlobInfo info{hash_->Finish(), size_};
  auto fail = [&](Status st) -> Result<BlobInfo> {
    ::unlink(tmp_path_.c_str());
    return st;
  };
  if (!expected_digest.empty() && expected_digest != info.digest) {
    return fail(DataLossError("blob content has digest " + info.digest + ", expected " +
                              std::string(expected_digest)));
  }
  if (::fsync(fd_.get()) != 0) return fail(ErrnoStatus("fsync", tmp_path_, errno));
  fd_ = UniqueFd();
  std::string final_path = root_ + "/blobs/sha256/" + std::string(DigestHex(info.digest));
  struct stat st;
  if (::stat(final_path.c_str(), &st) == 0 && st.st_size == info.size) {
    ::unlink(tmp_path_.c_str());  // dedup: identical content already published
    return info;
  }
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
    return fail(ErrnoStatus("rename", tmp_path_, errno));
  }
  LK_RETURN_IF_ERROR(FsyncDir(root_ + "/blobs/sha256"));
  return info;
}

Result<BlobStore> BlobStore::Open(const std::string& root) {
  LK_RETURN_IF_ERROR(MakeDirs(root + "/blobs/sha256"));
  LK_RETURN_IF_ERROR(MakeDirs(root + "/ingest"));
  return BlobStore(root);
}

Result<BlobStore::Writer> BlobStore::NewWriter() const {
  std::string tmpl = root_ + "/ingest/blob-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("create", tmpl, errno);
  ::fchmod(fd, 0600);  // blobs may be layers of secret builds: owner only
  return Writer(root_, UniqueFd(fd), tmpl);
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
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) break;
    LK_RETURN_IF_ERROR(w.Write(buf, static_cast<size_t>(n)));
  }
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
    if (actual != digest) {
      return DataLossError("blob " + std::string(digest) + " is corrupt: its content hashes to " +
                           actual);
    }
  }
  return data;
}

Status BlobStore::Verify(std::string_view digest) const {
  LK_ASSIGN_OR_RETURN(std::string path, Path(digest));
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("open", path, errno);
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) break;
    h.Update(buf, static_cast<size_t>(n));
  }
  std::string actual = h.Finish();
  if (actual != digest) {
    return DataLossError("blob " + std::string(digest) + " is corrupt: its content hashes to " +
                         actual);
  }
  return Status::OK();
}

}  // namespace latchkey::image
