// Compressor: a parallel gzip or zstd compressor for layer blobs, streaming into a sink.
//
// gzip (pigz's scheme): the input is cut into 1 MiB blocks; each block is deflated on its own
// by libdeflate (about 3x faster than zlib at the same level, and no larger) on a pool of
// `threads` workers, and made to continue into the next one (its final bit cleared, ended by
// an empty stored block: the bytes of a sync flush; the last block keeps its final bit). The
// blocks are written in order between one gzip header (mtime 0, no name, OS unix) and one
// trailer (CRC-32 combined from the blocks' with crc32_combine, length mod 2^32). A block
// starts without the previous block's 32 KiB window (libdeflate takes no dictionary), which
// costs well under 1 % of ratio at 1 MiB. A block whose four 16 KiB probes do not shrink at
// level 1 (random bytes, compressed files) is stored instead of deflated: no ratio is lost and
// no time is spent on it. The result is ONE valid gzip member that any inflater (zlib,
// gzip -t, Go's compress/gzip, Rust's flate2 GzDecoder) reads. The output depends only on the
// input and the level, never on the number of threads, so a blob's digest is reproducible on
// any machine.
//
// zstd: libzstd's streaming compressor with its multithreaded mode (ZSTD_c_nbWorkers =
// max(1, threads); with nbWorkers >= 1 libzstd's output does not depend on the worker count),
// content checksum on.
//
// At most 2 x threads blocks are in flight, so memory stays bounded (about 4 MiB per thread for
// gzip; libzstd's own buffers for zstd) whatever the input size.
//
// Thread-safety: one Compressor, one calling thread (it runs its own workers). The sink is
// called on the calling thread only, in output order.
#ifndef LATCHKEY_BUILDER_IMAGE_COMPRESSOR_H_
#define LATCHKEY_BUILDER_IMAGE_COMPRESSOR_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::image {

enum class Compression {
  kUncompressed,
  kGzip,
  kZstd,
};

// "uncompressed", "gzip", "zstd" (BuildKit's names).
std::string_view CompressionName(Compression c);
// Parses BuildKit's compression= values: "uncompressed", "gzip", "zstd". INVALID_ARGUMENT
// `unsupported compression type <value>` (BuildKit's text) otherwise.
Result<Compression> ParseCompression(std::string_view value);
// The level used when none is given: gzip 3 (libdeflate's level 3: on real layers its output is
// still smaller than the default-level output of containerd and skopeo, and it is about 1.4x
// faster than level 6; docs/image-store.md "Compressed copies"), zstd 3 (libzstd's).
int DefaultCompressionLevel(Compression c);
// INVALID_ARGUMENT `compression-level <level> is out of range for gzip (0..9)` / `... for zstd
// (1..19)`; any level is fine for uncompressed (it is ignored).
Status CheckCompressionLevel(Compression c, int level);
// The OCI layer media type of a layer in this compression.
const char* LayerMediaType(Compression c);

class Compressor {
 public:
  // Receives compressed bytes in order; an error stops the compressor and is returned by the
  // Write or Finish that called it.
  using Sink = std::function<Status(const void* data, size_t size)>;

  // `compression` gzip or zstd; `level` checked with CheckCompressionLevel; `threads` >= 1 (0:
  // one per CPU). INTERNAL "cannot initialise zlib|zstd" when the library cannot start.
  static Result<std::unique_ptr<Compressor>> Create(Compression compression, int level, int threads,
                                                    Sink sink);
  virtual ~Compressor() = default;
  // Compresses `size` bytes. A failure (the sink's, or the library's) is returned here or by a
  // later call; after one, the compressor must not be used again.
  virtual Status Write(const void* data, size_t size) = 0;
  // Flushes everything and ends the stream. Call once.
  virtual Status Finish() = 0;
};

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_COMPRESSOR_H_
