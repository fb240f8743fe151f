// ImageForOutput: the one seam between the store's layers, which the builder keeps uncompressed
// (media type application/vnd.oci.image.layer.v1.tar, digest = diff_id), and what an output
// or a push emits: compressed layers and a manifest naming them.
//
// Every layer is compressed as `OutputCompression` asks when it is needed -- a tar layer for a
// gzip or zstd output; an already compressed layer (a pulled or imported image's) only with
// `force` -- by the parallel compressor (compressor.h). The compressed blob goes into the same
// BlobStore and is remembered in the compressed-layer cache:
//
//   <store root>/compressed/v1/<diff_id hex>/<gzip|zstd|uncompressed>-<level>
//     {"digest":"sha256:...","mediaType":"...","size":N}   (canonical JSON, mode 0600)
//   <store root>/compressed/v1/<stored manifest hex>/<compression>-<level>[-force]
//     the same for the output manifest naming those copies
//
// written atomically (temp + fsync + rename) after the blob is durable, so an entry always
// names a complete blob. The next output of the same layer with the same compression and level
// reuses the blob without reading the layer (an entry whose blob is missing or whose size
// differs is ignored and rewritten). The GC (builder/solver/store_gc.h) keeps an entry and its
// blob while a root references the entry's diff_id (or stored manifest), and deletes the entry
// before the blob.
//
// The returned Image has the same config; its manifest (the stored one when no layer changed,
// else a new one, canonical JSON, written to the store) lists the emitted layers. All blobs it
// names are in `blobs`: exporters (WriteOciLayout, WriteOciArchive) and a registry push copy
// them from there. Those blobs are referenced by no root until the caller tags or records
// them: call with the state dir's StoreUseLock held (shared), as builds and exports do.
//
// Errors: INVALID_ARGUMENT for a bad level (CheckCompressionLevel's text); FAILED_PRECONDITION
// `layer sha256:...: cannot recompress a <media type> layer` for a layer whose compression
// cannot be read (zstd source with force); the reader's and the store's errors, prefixed
// "compressing layer sha256:...". `cancel` is polled per MiB; its error is returned unchanged.
// Thread-safety: reentrant; concurrent calls on one store may both compress a layer (the
// content is identical, one blob and one entry remain).
#ifndef LATCHKEY_BUILDER_IMAGE_OUTPUT_IMAGE_H_
#define LATCHKEY_BUILDER_IMAGE_OUTPUT_IMAGE_H_

#include <string>

#include "base/cancel.h"
#include "builder/image/blob_store.h"
#include "builder/image/compressor.h"
#include "builder/image/oci_image.h"
#include "latchkey/status.h"

namespace latchkey::image {

// An output's compression= / compression-level= / force-compression= (BuildKit's keys).
struct OutputCompression {
  Compression compression = Compression::kGzip;  // gzip stays the default media type
  int level = -1;                                // -1: DefaultCompressionLevel(compression)
  bool force = false;  // recompress layers that are already compressed otherwise
  int threads = 0;     // compressor threads (0: one per CPU)
};

Result<Image> ImageForOutput(BlobStore& blobs, const Image& image, const OutputCompression& out,
                             const base::CancelCheck& cancel = {});

// The compressed-layer cache directory of a store: "<blobs.root()>/compressed/v1".
std::string CompressedCacheDir(const BlobStore& blobs);

// One entry of that cache, as the GC reads it.
struct CompressedCacheEntry {
  std::string path;    // the entry file
  std::string source;  // "sha256:...": the layer's diff_id or the stored manifest's digest
  std::string digest;  // the compressed blob ("" when the entry cannot be parsed)
};
// Every entry under CompressedCacheDir (missing directory: none). Unparsable entries are
// returned with an empty digest, for the GC to delete. Errors name the directory.
Result<std::vector<CompressedCacheEntry>> ListCompressedCache(const BlobStore& blobs);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_OUTPUT_IMAGE_H_
