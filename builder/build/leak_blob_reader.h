// LeakBlobReader: the byte source the leak scanner hands libarchive for one layer blob.
//
// A gzip blob (magic 1f 8b) is inflated here with zlib, which checks every member's CRC-32 and
// length, so a corrupt or truncated layer is an error rather than silently scanned garbage
// (libarchive's own gzip filter does not verify the trailer). Concatenated gzip members are
// read in turn; anything after the last member must itself be a gzip member. Any other blob is
// passed through as is, for libarchive's filters (xz, zstd, ...) or its tar reader.
//
// Thread-safety: one reader, one thread.
#ifndef LATCHKEY_BUILDER_BUILD_LEAK_BLOB_READER_H_
#define LATCHKEY_BUILDER_BUILD_LEAK_BLOB_READER_H_

#include <sys/types.h>
#include <zlib.h>

#include <memory>
#include <string>
#include <vector>

#include "builder/image/fs_util.h"
#include "latchkey/status.h"

namespace latchkey::build {

class LeakBlobReader {
 public:
  // Opens `path`; "open <path>: <strerror>" (NOT_FOUND, PERMISSION_DENIED, INTERNAL) when it
  // cannot, INTERNAL "<path>: cannot initialise zlib".
  static Result<std::unique_ptr<LeakBlobReader>> Open(const std::string& path);
  ~LeakBlobReader();
  LeakBlobReader(const LeakBlobReader&) = delete;
  LeakBlobReader& operator=(const LeakBlobReader&) = delete;

  // Places up to 64 KiB of (decompressed) bytes at *buf, valid until the next call. Returns
  // their number, 0 at the end of the blob, or -1 on error (see error()): "read <path>:
  // <strerror>", or DATA_LOSS "<path>: gzip data is corrupt: <zlib message>" / "<path>: gzip
  // data is truncated".
  ssize_t Read(const void** buf);
  // Reads whatever is left (so the gzip trailer is checked) and returns the first error.
  Status Drain();
  // OK until Read fails.
  const Status& error() const { return error_; }

 private:
  LeakBlobReader(image::UniqueFd fd, bool gzip, std::string path);
  ssize_t ReadRaw(char* p, size_t n);
  ssize_t Fail(Status s);

  image::UniqueFd fd_;
  bool gzip_;
  std::string path_;
  std::vector<char> in_, out_;
  z_stream zs_ = {};
  bool in_eof_ = false;
  bool stream_end_ = false;
  Status error_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_BUILD_LEAK_BLOB_READER_H_
