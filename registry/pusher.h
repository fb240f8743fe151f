// Push: copies one image from the local blob store to a registry (the OCI Distribution API's
// push flow), as Docker and containerd do:
//   1. every blob (config and layers, at most `parallel` at a time): HEAD it and skip it when
//      the repository has it; else, when the blob's source on the same registry is known
//      (blob_sources.h) and is another repository, ask for a cross-repository mount
//      (POST …/blobs/uploads/?mount=DIGEST&from=REPO); else, or when the registry does not
//      mount, upload it:
//        monolithic: POST …/blobs/uploads/, then PUT <location>?digest=DIGEST with the blob;
//        chunked:    POST, then PATCH <location> with Content-Range START-END for every
//                    `chunk_size` bytes, then PUT <location>?digest=DIGEST with no body;
//      chunked for a blob larger than `chunk_size`, or when the registry answered the
//      monolithic PUT with 413 Payload Too Large (a new upload, then chunked); chunks are at
//      least the OCI-Chunk-Min-Length the registry announces;
//   2. the manifest: PUT /v2/<repo>/manifests/<tag> with its own media type; the registry's
//      Docker-Content-Digest must be the digest of the bytes sent.
// The blobs and the manifest come from image::SendableImage (sendable_image.h) of the image
// that ImageForOutput compressed for the push (cli/registry_image_pusher.h), never from the
// store's own manifest. After a push, each blob's source is recorded as the target repository.
//
// Thread-safety: Push may run concurrently with pulls, pushes and builds on the same store.
#ifndef LATCHKEY_REGISTRY_PUSHER_H_
#define LATCHKEY_REGISTRY_PUSHER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "builder/image/blob_store.h"
#include "builder/image/reference.h"
#include "builder/image/sendable_image.h"
#include "registry/registry_client.h"

namespace latchkey::registry {

struct PushEvent {
  enum Kind {
    kPresent,   // the repository has the blob (HEAD): not uploaded
    kMounted,   // mounted from `from` ("HOST/REPO") on the same registry: not uploaded
    kStarted,   // an upload of the blob started
    kUploaded,  // the blob is uploaded; bytes = its size
    kManifest,  // the manifest was accepted; digest = the pushed digest
  };
  Kind kind;
  std::string digest;
  int64_t size = 0;
  int64_t bytes = 0;
  std::string from;
};

struct PushOptions {
  int parallel = 5;                  // blobs uploaded at once (Docker's default)
  int64_t chunk_size = 128ll << 20;  // larger blobs are uploaded in chunks of this size
  // Called from the pushing threads, one call at a time.
  std::function<void(const PushEvent&)> progress;
};

struct PushResult {
  std::string digest;  // the manifest digest, as the registry confirmed it
  int64_t bytes_uploaded = 0;
  int blobs_uploaded = 0;
  int blobs_present = 0;
  int blobs_mounted = 0;
};

// Pushes `image` (its blobs in `blobs`) to `target` (normalised, reference.h, with a tag; a
// digest-only reference pushes by digest, which must be the manifest's). Errors are the
// client's (registry_client.h), plus INVALID_ARGUMENT "push REF: the reference's digest
// sha256:… is not the image's sha256:…". A failed push leaves what it uploaded in the registry
// (unreferenced blobs, which the registry's garbage collection removes) and tags nothing.
Result<PushResult> Push(RegistryClient& client, const image::BlobStore& blobs,
                        const image::OutputImage& image, const image::Reference& target,
                        const PushOptions& options);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_PUSHER_H_
