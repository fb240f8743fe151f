// Pull: copies one image from a registry into the local content-addressed blob store
// (builder/image/blob_store.h), where the local image store and builds find it.
//
//   1. the manifest by tag or digest (manifest.h limits); an index is resolved to the
//      platform's manifest;
//   2. the config and layers, at most `parallel` at a time; a blob already in the store is
//      not downloaded; each download is hashed and counted while it streams into the store
//      (one pass) and published only when size and digest match; a mismatch discards it:
//      `blob sha256:…: digest mismatch (got sha256:…)`; a dropped connection is resumed
//      with Range (at most 3 times); a stall fails the pull and discards the partial blob;
//   3. the manifest itself, then image::LoadImage.
// Nothing is tagged here (the caller tags, image_store.h). A failed pull leaves complete,
// verified blobs in the store (they are content-addressed and reused by the next pull) and
// no partial ones.
//
// Thread-safety: Pull may run concurrently with other pulls and builds on the same store.
#ifndef LATCHKEY_REGISTRY_PULLER_H_
#define LATCHKEY_REGISTRY_PULLER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "builder/image/blob_store.h"
#include "builder/image/oci_image.h"
#include "builder/image/reference.h"
#include "registry/manifest.h"
#include "registry/registry_client.h"

namespace latchkey::registry {

struct PullEvent {
  enum Kind {
    kResolved,    // digest: the manifest chosen (after the platform choice)
    kPresent,     // a blob already in the store
    kDownloaded,  // a blob downloaded and verified; bytes = its size
    kResumed,     // a dropped download resumed at `bytes`
    kStarted,     // a download started (a blob not in the store)
  };
  Kind kind;
  std::string digest;
  int64_t size = 0;
  int64_t bytes = 0;
};

struct PullOptions {
  Platform platform = HostPlatform();
  int parallel = 6;  // blobs downloaded at once (skopeo's default; Docker's is 3)
  int max_resumes = 3;
  // Called from the pulling threads, one call at a time.
  std::function<void(const PullEvent&)> progress;
};

struct PullResult {
  image::Image image;
  std::string digest;  // the digest the tag resolved to (the index's, for an index)
  int64_t bytes_downloaded = 0;
  int blobs_downloaded = 0;
  int blobs_present = 0;
};

// Pulls `ref` (fully normalised, reference.h; a tag or a digest) into `blobs`.
Result<PullResult> Pull(RegistryClient& client, image::BlobStore& blobs,
                        const image::Reference& ref, const PullOptions& options);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_PULLER_H_
