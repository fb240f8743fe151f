// SendableImage: the manifest bytes and the blob list a registry push sends for an image whose
// layers are already what it sends (ImageForOutput, output_image.h, compresses the store's
// uncompressed layers first; a push never reads the store's own manifest).
//
// Thread-safety: reentrant; reads the blob store (and may add blobs to it).
#ifndef LATCHKEY_BUILDER_IMAGE_SENDABLE_IMAGE_H_
#define LATCHKEY_BUILDER_IMAGE_SENDABLE_IMAGE_H_

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

// What a push sends for `image` (whose blobs are in `blobs`): its manifest as stored and every
// blob it names. DATA_LOSS when the stored manifest does not match its digest; NOT_FOUND (the
// blob store's text) when a blob the manifest names is missing.
Result<OutputImage> SendableImage(BlobStore& blobs, const Image& image);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_SENDABLE_IMAGE_H_
