// ImageForOutput: the one place an output that sends an image somewhere else (a registry
// push today) gets the manifest and the blobs it sends. Today it returns the stored manifest
// as it is; when the store keeps layers uncompressed, this is where they are compressed (and
// the manifest rewritten) for the output, so a push never reads the store's manifest itself.
//
// Thread-safety: reentrant; reads the blob store (and may add blobs to it).
#ifndef LATCHKEY_BUILDER_IMAGE_IMAGE_FOR_OUTPUT_H_
#define LATCHKEY_BUILDER_IMAGE_IMAGE_FOR_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "builder/image/blob_store.h"
#include "builder/image/oci_image.h"
#include "latchkey/status.h"

namespace latchkey::image {

struct OutputBlob {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

struct OutputImage {
  std::string manifest;    // the bytes to send
  std::string media_type;  // the manifest's media type (its "mediaType", else OCI's)
  std::string digest;      // sha256 of `manifest`
  // The config first, then the layers in order: every blob the manifest names, all in the
  // store.
  std::vector<OutputBlob> blobs;
};

// What an output sends for `image` (whose blobs are in `blobs`). No options yet (compression
// settings will go here). DATA_LOSS when the stored manifest does not match its digest;
// NOT_FOUND (the blob store's text) when a blob the manifest names is missing.
struct OutputOptions {};
Result<OutputImage> ImageForOutput(BlobStore& blobs, const Image& image,
                                   const OutputOptions& options = {});

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_IMAGE_FOR_OUTPUT_H_
