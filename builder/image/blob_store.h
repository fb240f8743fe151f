// BlobStore: a content-addressed store of immutable blobs laid out as an OCI image layout's
// "blobs" folder: <root>/blobs/sha256/<hex>. Temporary files live in <root>/ingest/ (same
// filesystem, so publishing a blob is a rename).
//
// Writes go through a base::Env (default: the POSIX one), are atomic and durable (temp file +
// fsync + rename + fsync of the directory) and deduplicated (a blob that already exists is not
// rewritten). Readers never see partial blobs. Blob files are mode 0600 (owner only); exporters
// copy them out with the modes they need. Thread-safety: a BlobStore is immutable after Open; any
// number of threads and processes may put and read concurrently (two writers of the same content
// both succeed, one file remains).
#ifndef LATCHKEY_BUILDER_IMAGE_BLOB_STORE_H_
#define LATCHKEY_BUILDER_IMAGE_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/env.h"
#include "builder/image/digest.h"
#include "builder/image/fs_util.h"
#include "latchkey/status.h"

namespace latchkey::image {

struct BlobInfo {
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
};

class BlobStore {
 public:
  // Streams one blob into the store. Write any number of times, then Commit once. A writer
  // destroyed without Commit removes its temporary file. Not thread-safe (one writer, one thread).
  class Writer {
   public:
    Writer(Writer&&) = default;
    Writer& operator=(Writer&&) = default;
    ~Writer();
    // Appends to the temporary file; a failure names it ("writing <root>/ingest/blob-XXXXXX:
    // No space left on device") and the writer must not be committed.
    Status Write(const void* data, size_t size);
    // Publishes the blob under its digest and returns it. When `expected_digest` is non-empty
    // and differs, nothing is published: DATA_LOSS `blob <expected>: digest mismatch (got
    // <actual>)`. When syncing or
    // renaming fails, nothing is published, the temporary file is removed and the error names
    // the file.
    Result<BlobInfo> Commit(std::string_view expected_digest = {});
    int64_t bytes_written() const { return size_; }

   private:
    friend class BlobStore;
    Writer(std::string root, base::Env* env, std::unique_ptr<base::WritableFile> file,
           std::string tmp_path);
    std::string root_;  // the store's root (a writer does not point into its BlobStore)
    base::Env* env_;
    std::unique_ptr<base::WritableFile> file_;
    std::string tmp_path_;
    std::unique_ptr<Sha256> hash_;
    int64_t size_ = 0;
    bool done_ = false;
  };

  // Opens (creating if needed) the store rooted at `root`. Blob files are written through `env`
  // (not owned; must outlive the store and its writers), the POSIX Env by default.
  static Result<BlobStore> Open(const std::string& root, base::Env* env = base::PosixEnv().get());

  const std::string& root() const { return root_; }
  // The Env the store writes through (not owned).
  base::Env* env() const { return env_; }

  Result<BlobInfo> PutBytes(std::string_view data);
  // Copies the file at `path` into the store.
  Result<BlobInfo> PutFile(const std::string& path);
  Result<Writer> NewWriter() const;

  // True when a blob with this (valid) digest is present.
  bool Has(std::string_view digest) const;
  // The path a blob with this digest has (whether or not present). Precondition: valid digest.
  std::string PathFor(std::string_view digest) const;
  // The path of a present blob; INVALID_ARGUMENT for a malformed digest, NOT_FOUND
  // ("blob sha256:... is not in the store at <root>") when absent.
  Result<std::string> Path(std::string_view digest) const;
  // The bytes of a blob; with `verify` the content is rehashed and a mismatch is DATA_LOSS.
  Result<std::string> ReadBytes(std::string_view digest, bool verify = true) const;
  // Rehashes a present blob; DATA_LOSS when its content does not match its name.
  Status Verify(std::string_view digest) const;

 private:
  BlobStore(std::string root, base::Env* env) : root_(std::move(root)), env_(env) {}
  std::string root_;
  base::Env* env_;
};

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_BLOB_STORE_H_
