// Unpacking OCI layer tars (gzip or plain) into directories, safely, and the shared
// content-addressed cache of unpacked layers.
//
// Hostile input and whiteouts: entries are unpacked by the shared TarUnpacker (tar_unpack.h),
// with the layer option set: xattrs "user.*" and "security.capability" applied, owners only when
// running as root (ExtractOptions::chown), an entry naming the root applies a directory's
// metadata and is an error for any other type, and whiteouts as ExtractOptions::whiteouts says
// (kOverlay for overlay lowerdirs, used by the cache, so stacking the per-layer directories
// gives the image's filesystem; kApply for flattening into one directory, used by rootfs export).
//
// Cancellation: ExtractOptions::cancel (and ExtractLayer's `cancel`) is polled before the first
// entry, per entry and per 64 KiB of file data (tar_unpack.h); its error is returned unchanged
// (no "extract layer" prefix). ExtractLayer then removes its temporary directory: nothing is
// published in the cache.
//
// Thread-safety: ExtractLayerTo into distinct directories may run concurrently. ExtractLayer
// (the cache) is safe between threads and processes: each extractor unpacks into its own temp
// directory and renames it into place; the loser of a race discards its copy.
#ifndef LATCHKEY_BUILDER_IMAGE_LAYER_EXTRACT_H_
#define LATCHKEY_BUILDER_IMAGE_LAYER_EXTRACT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/cancel.h"
#include "builder/image/blob_store.h"
#include "builder/image/tar_unpack.h"
#include "latchkey/status.h"

namespace latchkey::image {

struct ExtractOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kOverlay;
  // Apply entry uid/gid. Defaults to true when running as root.
  bool chown;
  // When non-empty, the digest of the uncompressed stream (resp. of the file as stored) must
  // match, else DATA_LOSS; the check happens after the last byte, so the destination may hold
  // a partial tree on failure (the cache throws it away).
  std::string expected_diff_id;
  std::string expected_digest;
  // Do not create character or block device nodes (the local exporter: a host directory never
  // gets device nodes); each skipped entry is listed in ExtractResult::skipped_devices. Fifos
  // are still created.
  bool skip_devices = false;
  // Polled while unpacking (base/cancel.h); empty: never cancelled.
  base::CancelCheck cancel;
  ExtractOptions();
};

struct ExtractResult {
  std::string diff_id;  // "sha256:..." of the uncompressed tar
  std::string digest;   // "sha256:..." of the file as stored
  int64_t entries = 0;
  std::vector<std::string> skipped_devices;  // "/dev/mem": devices not created (skip_devices)
};

// Unpacks the layer file at `layer_path` (a plain, gzip- or zstd-compressed tar: layer_stream.h)
// into the existing directory `dest`. Errors are prefixed
// "extract layer <layer_path>: " and name the entry, e.g.
// `extract layer /x: entry "a/b": hardlink target "c" is not in the layer`.
Result<ExtractResult> ExtractLayerTo(const std::string& layer_path, const std::string& dest,
                                     const ExtractOptions& options);

// The layer cache: returns "<state_dir>/layers/sha256/<diff_id hex>", unpacking the blob
// `digest` from `blobs` there (kOverlay whiteouts, digests verified) if it is not there yet.
// A directory at that path is always complete (published by rename after syncfs). `cancel` is
// polled while unpacking and once more before publishing.
Result<std::string> ExtractLayer(const BlobStore& blobs, std::string_view digest,
                                 std::string_view diff_id, const std::string& state_dir,
                                 const base::CancelCheck& cancel = {});

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_LAYER_EXTRACT_H_
