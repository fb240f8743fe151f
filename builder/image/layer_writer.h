// WriteLayer: turns a directory into an OCI layer blob in a BlobStore: a plain tar (the
// builder's choice: compression is deferred to the outputs that need it, output_image.h) or a
// gzip/zstd-compressed one (compressor.h, parallel).
//
// The tar is written with libarchive (restricted pax: plain ustar headers unless a field needs a
// pax record, e.g. long names or xattrs) and streamed through one pass that hashes the
// uncompressed tar (the diff_id), compresses it (gzip: header mtime 0, no file name) and hashes
// the stored bytes (the blob digest) while writing them to the store; an uncompressed layer is
// hashed once (digest = diff_id). Nothing is buffered whole. A LayerObserver sees every entry
// and every byte of file data in that same pass (the builder's leak scan), so nothing reads the
// layer again.
//
// Entries are written depth-first with the names of each directory sorted bytewise, parents
// before children, without a root entry and without a "./" prefix ("bin/", "bin/sh"). Kept per
// entry: type, mode (including setuid/setgid/sticky), uid, gid, mtime (whole seconds), symlink
// target, device numbers, hardlinks (files with several links inside the tree are written once,
// then as hardlink entries), and the xattrs "user.*" and "security.capability" (others,
// notably trusted.* and security.selinux, are dropped). User and group names are left empty.
// Sockets are skipped (as Docker does). A file of the tree whose name starts with ".wh." fails
// the layer with FAILED_PRECONDITION "layer: /etc/.wh.passwd: a file name starting with ".wh."
// is an OCI whiteout and would delete /etc/passwd from the image; rename or remove it" (for
// ".wh..wh..opq": "... and would hide everything else in /bin; ..."): consumers would read it
// as a whiteout.
//
// Overlay upper dirs (LayerSource::kOverlayUpper) are converted to OCI whiteouts: a character
// device 0/0 "x" becomes an empty regular file ".wh.x" (mode 0600, owner and mtime of the device);
// a directory with xattr trusted.overlay.opaque=y (or user.overlay.opaque=y) is written followed
// by an empty ".wh..wh..opq" inside it. The upper dir must come from an overlay mounted without
// redirect_dir and metacopy (their xattrs would be meaningless in a tar and are rejected).
//
// Reproducibility: with source_date_epoch set, every mtime later than it is clamped to it, so the
// same tree content gives the same diff_id and digest however long ago it was written.
//
// Cancellation: LayerOptions::cancel is polled before each entry and after each 64 KiB of file
// data; when it returns an error, WriteLayer returns that status unchanged and publishes nothing
// (the store's temporary file is removed).
//
// Thread-safety: WriteLayer may run concurrently (BlobStore is safe); the tree must not change
// while it is read (a file whose size changes mid-read is an error).
#ifndef LATCHKEY_BUILDER_IMAGE_LAYER_WRITER_H_
#define LATCHKEY_BUILDER_IMAGE_LAYER_WRITER_H_

#include <archive_entry.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/cancel.h"
#include "builder/image/blob_store.h"
#include "builder/image/compressor.h"
#include "latchkey/status.h"

namespace latchkey::image {

// Sees a layer's entries as WriteLayer writes them: OnEntry with the complete header (name, link
// target, owner, mode, xattrs) before its data, then OnData for each chunk of that entry's file
// data, in tar order (whiteouts included, as the ".wh." entries they become). Called on
// WriteLayer's thread. An error fails the layer (nothing is published) and is returned as is.
class LayerObserver {
 public:
  virtual ~LayerObserver() = default;
  virtual Status OnEntry(struct archive_entry* entry) = 0;
  virtual Status OnData(const void* data, size_t size) = 0;
};

enum class LayerSource {
  kOverlayUpper,  // an overlayfs upperdir: whiteouts and opaque dirs are converted
  kRootfs,        // a full root filesystem (base image import): written as is
};

struct LayerOptions {
  LayerSource source = LayerSource::kOverlayUpper;
  // Seconds since the epoch; mtimes after it are clamped to it. Unset: mtimes kept.
  std::optional<int64_t> source_date_epoch;
  // kUncompressed: media type ...layer.v1.tar, digest = diff_id.
  Compression compression = Compression::kGzip;
  int gzip_level = 6;                 // zlib level 1..9 (gzip); zstd uses its default level
  int threads = 0;                    // compressor threads (0: one per CPU)
  LayerObserver* observer = nullptr;  // not owned; may be null
  // Polled while the tree is written (base/cancel.h); empty: never cancelled.
  base::CancelCheck cancel;
};

struct LayerDescriptor {
  std::string media_type;  // kMediaTypeLayerTar, kMediaTypeLayerGzip or kMediaTypeLayerZstd
  std::string digest;      // "sha256:..." of the blob as stored
  int64_t size = 0;        // stored size in bytes
  std::string diff_id;     // "sha256:..." of the uncompressed tar
  int64_t uncompressed_size = 0;
  int64_t entries = 0;  // tar entries written (whiteouts included)
};

// Writes `dir` as one layer into `blobs`. Errors name the offending path, e.g.
// "layer: read /upper/etc/x: Permission denied"; an unreadable tree publishes nothing, and
// neither does a cancelled write (its status is the check's, e.g. CANCELLED "build cancelled").
Result<LayerDescriptor> WriteLayer(const std::string& dir, const LayerOptions& options,
                                   BlobStore& blobs);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_LAYER_WRITER_H_
