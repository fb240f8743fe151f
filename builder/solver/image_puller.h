// ImagePuller: how a build fetches an image from a registry. The builder asks for one when a
// FROM, COPY --from=<image> or RUN --mount=from=<image> names an image that is not in the
// local store, and for every tag with --pull (BuildRequest::pull). The builder owns this
// interface and includes nothing of the registry client: the CLI implements it over
// registry::Pull with the credentials and `registries:` options `latchkey pull` uses
// (cli/registry_image_puller.h); tests use a fake.
//
// Thread-safety: Pull is called by the build's thread; an implementation may call `progress`
// from its own threads, one call at a time.
#ifndef LATCHKEY_BUILDER_SOLVER_IMAGE_PULLER_H_
#define LATCHKEY_BUILDER_SOLVER_IMAGE_PULLER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "builder/image/image_store.h"
#include "builder/image/oci_image.h"
#include "builder/image/reference.h"
#include "latchkey/status.h"

namespace latchkey::build {

// What a pull reports while it runs (the builder prints them as BuildKit does, on the
// "[internal] load metadata for REF" vertex).
struct PullEvent {
  enum class Kind {
    kResolved,    // the reference resolved to `digest` (the platform's manifest)
    kStarted,     // a download of blob `digest` (`size` bytes) started
    kDownloaded,  // blob `digest` downloaded and verified
    kPresent,     // blob `digest` was already in the store: not downloaded
    kResumed,     // the download of `digest` dropped at `bytes` and is resumed there
  };
  Kind kind = Kind::kResolved;
  std::string digest;
  int64_t size = 0;
  int64_t bytes = 0;
};

using PullProgressFn = std::function<void(const PullEvent&)>;

struct PulledImage {
  image::Image image;  // its blobs are in the store Pull was given
  // The digest the reference resolved to in the registry: the index's for a multi-platform
  // image, else the manifest's. The build records it (BuildResult::materials).
  std::string digest;
};

class ImagePuller {
 public:
  virtual ~ImagePuller() = default;
  // Pulls `ref` (normalised, reference.h, with a tag or a digest) for `platform`
  // ("os/arch[/variant]") into `store`'s blobs. A reference with a tag and no digest is then
  // tagged in `store` as its familiar NAME:TAG (image_ref.h), so the next build finds it
  // locally; a digest reference tags nothing. `progress` (may be empty) receives the pull's
  // events. Errors carry the registry client's text, which names the registry host and never
  // a credential (docs/registry.md); UNAVAILABLE or DEADLINE_EXCEEDED when the registry
  // cannot be reached or stalls.
  virtual Result<PulledImage> Pull(const image::Reference& ref, const std::string& platform,
                                   image::ImageStore& store, const PullProgressFn& progress) = 0;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_IMAGE_PULLER_H_
