// ImagePusher: how a build sends its image to a registry (`-o type=image,name=REG/REPO:TAG,
// push=true`, `-o type=registry`, `--push`). Like ImagePuller, the builder owns this interface
// and includes nothing of the registry client: the CLI implements it over registry::Push with
// the credentials and `registries:` options `latchkey push` uses
// (cli/registry_image_pusher.h); tests use a fake.
//
// Thread-safety: Push is called by the build's thread; an implementation may call `progress`
// from its own threads, one call at a time.
#ifndef LATCHKEY_BUILDER_SOLVER_IMAGE_PUSHER_H_
#define LATCHKEY_BUILDER_SOLVER_IMAGE_PUSHER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "builder/image/image_ref.h"
#include "builder/image/image_store.h"
#include "builder/image/oci_image.h"
#include "builder/image/output_image.h"
#include "latchkey/status.h"

namespace latchkey::build {

// What a push reports while it runs (the builder prints them on its "exporting to image"
// vertex, as BuildKit does).
struct PushEvent {
  enum class Kind {
    kPresent,   // the registry has blob `digest`: not uploaded
    kMounted,   // blob `digest` was mounted from `from` ("HOST/REPO"): not uploaded
    kStarted,   // an upload of blob `digest` (`size` bytes) started
    kUploaded,  // blob `digest` is uploaded
    kManifest,  // the manifest was accepted as `digest`
  };
  Kind kind = Kind::kStarted;
  std::string digest;
  int64_t size = 0;
  std::string from;
};

using PushProgressFn = std::function<void(const PushEvent&)>;

// The manifest the registry accepted.
struct PushedImage {
  std::string digest;
  std::string media_type;
  int64_t size = 0;
};

class ImagePusher {
 public:
  virtual ~ImagePusher() = default;
  // Pushes `image` (its blobs in `store`) to `name` (its registry, repository and tag), its
  // layers compressed as `compression` says (the output's compression= keys; the store keeps
  // them uncompressed). `progress` (may be empty) receives the push's events. Errors carry the
  // registry client's text, which names the registry host and never a credential
  // (docs/registry.md).
  virtual Result<PushedImage> Push(const image::ImageRef& name, const image::Image& image,
                                   image::ImageStore& store,
                                   const image::OutputCompression& compression,
                                   const PushProgressFn& progress) = 0;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_IMAGE_PUSHER_H_
