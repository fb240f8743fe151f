// LayerStream: a layer blob as the plain byte stream libarchive reads, for extraction
// (layer_extract.h) and for the builder's leak scan.
//
// A gzip blob (magic 1f 8b) is inflated here with zlib, which checks every member's CRC-32 and
// length -- libarchive's own gzip filter does not verify the trailer, so a corrupt or truncated
// layer would otherwise be read as silently wrong bytes. Concatenated gzip members are read in
// turn; anything after the last member must itself be a gzip member. A zstd blob (magic 28 b5
// 2f fd) is decompressed with libzstd, which checks each frame's checksum when the frame has
// one; frames may follow each other (and skippable frames are skipped), and a blob that ends
// inside a frame is truncated. Any other blob is passed through unchanged (a plain tar). With
// hashing on, the bytes are hashed as stored (the blob digest) and as produced (the diff_id).
//
// Thread-safety: one stream, one thread.
#ifndef LATCHKEY_BUILDER_IMAGE_LAYER_STREAM_H_
#define LATCHKEY_BUILDER_IMAGE_LAYER_STREAM_H_

#include <archive.h>
#include <sys/types.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <string>
#include <vector>

#include "builder/image/digest.h"
#include "builder/image/fs_util.h"
#include "latchkey/status.h"

namespace latchkey::image {

class LayerStream {
 public:
  // Takes the open blob `fd` (read from its current offset, which must be 0); `path` names it
  // in errors. INTERNAL "cannot initialise zlib" when zlib cannot start.
  static Result<std::unique_ptr<LayerStream>> Open(UniqueFd fd, std::string path, bool hash);
  // Opens the file at `path` first: "open <path>: <strerror>" when it cannot.
  static Result<std::unique_ptr<LayerStream>> OpenFile(const std::string& path, bool hash);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  bool gzip() const { return gzip_; }
  bool zstd() const { return zds_ != nullptr; }

  // Places up to 64 KiB of (decompressed) bytes at *buf, valid until the next call. Returns
  // their number, 0 at the end of the blob, or -1 on error (see error()): "read <path>:
  // <strerror>", DATA_LOSS "gzip data is corrupt: <zlib message>", "gzip data is truncated",
  // "zstd data is corrupt: <libzstd message>" or "zstd data is truncated".
  ssize_t Read(const void** buf);
  // Reads whatever is left (so the last gzip trailer is checked and everything is hashed);
  // returns the first error.
  Status Drain();
  // OK until Read fails.
  const Status& error() const { return error_; }

  // "sha256:..." of the blob as stored / of the produced stream. Hashing on, after Drain; once.
  // An uncompressed blob is hashed once: its DiffId is its Digest.
  std::string Digest();
  std::string DiffId();

 private:
  LayerStream(UniqueFd fd, bool gzip, std::string path, bool hash);
  ssize_t ReadRaw(char* p, size_t n);
  ssize_t ReadZstd();
  ssize_t Produced(size_t n);
  ssize_t Fail(Status s);

  UniqueFd fd_;
  bool gzip_;
  bool zlib_ready_ = false;
  std::string path_;
  bool hash_;
  std::vector<char> in_, out_;
  z_stream zs_ = {};
  ZSTD_DStream* zds_ = nullptr;  // set for a zstd blob
  ZSTD_inBuffer zin_ = {nullptr, 0, 0};
  bool zstd_in_frame_ = false;  // libzstd's last answer: a frame is not finished
  bool in_eof_ = false;
  bool stream_end_ = false;
  Status error_;
  Sha256 stored_, produced_;
  std::string stored_digest_;  // stored_'s result, once finished
};

// True when the first bytes of a blob are gzip's magic number.
bool HasGzipMagic(const unsigned char* head, size_t n);
// True when the first bytes of a blob are zstd's frame magic number.
bool HasZstdMagic(const unsigned char* head, size_t n);

// libarchive's read callback over a LayerStream passed as the client data:
// archive_read_open(a, &stream, nullptr, ArchiveReadLayerStream, nullptr). A failed Read is
// reported to libarchive as EIO with the stream's error text; LayerStream::error() keeps the
// Status.
la_ssize_t ArchiveReadLayerStream(struct archive* a, void* stream, const void** buf);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_LAYER_STREAM_H_
