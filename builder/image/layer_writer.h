// WriteLayer: turns a directory into a gzip-compressed OCI layer blob in a BlobStore.
//
// The tar is written with libarchive (restricted pax: plain ustar headers unless a field needs a
// pax record, e.g. long names or xattrs) and streamed through one pass that hashes the
// uncompressed tar (the diff_id), gzips it with zlib (header mtime 0, no file name) and hashes the
// compressed bytes (the blob digest) while writing them to the store. Nothing is buffered whole.
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

#include <cstdint>
#include <optional>
#include <string>

#include "base/cancel.h"
#include "builder/image/blob_store.h"
#include "latchkey/status.h"

namespace latchkey::image {

enum class LayerSource {
  kOverlayUpper,  // an overlayfs upperdir: whiteouts and opaque dirs are converted
  kRootfs,        // a full root filesystem (base image import): written as is
};

struct LayerOptions {
  LayerSource source = LayerSource::kOverlayUpper;
  // Seconds since the epoch; mtimes after it are clamped to it. Unset: mtimes kept.
  std::optional<int64_t> source_date_epoch;
  int gzip_level = 6;  // zlib level 1..9
  // Polled while the tree is written (base/cancel.h); empty: never cancelled.
  base::CancelCheck cancel;
};

struct LayerDescriptor {
  std::string media_type;  // kMediaTypeLayerGzip
  std::string digest;      // "sha256:..." of the compressed blob
  int64_t size = 0;        // compressed size in bytes
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
