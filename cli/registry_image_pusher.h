// Pushing from the local store to a registry, shared by `latchkey push` and builds that push
// (-o type=image,push=true, -o type=registry, --push): PushFromStore takes the blobs and the
// manifest through image::ImageForOutput (gzip) and image::SendableImage and hands them to
// registry::Push. RegistryImagePusher is the builder's ImagePusher
// (builder/solver/image_pusher.h) over it, with the registry client opened as `latchkey pull`
// opens it (registry_setup.h): the same credentials and `registries:` options.
//
// Thread-safety: RegistryImagePusher::Push is called by one thread at a time (the build's).
#ifndef LATCHKEY_CLI_REGISTRY_IMAGE_PUSHER_H_
#define LATCHKEY_CLI_REGISTRY_IMAGE_PUSHER_H_

#include <memory>
#include <string>

#include "broker/config.h"
#include "builder/image/image_store.h"
#include "builder/image/reference.h"
#include "builder/solver/image_pusher.h"
#include "cli/registry_setup.h"
#include "registry/pusher.h"

namespace latchkey::cli {

struct PushedFromStore {
  registry::PushResult result;
  std::string media_type;  // of the pushed manifest
  int64_t manifest_size = 0;
};

// Pushes `image` (in `store`) to `ref` (normalised, with a tag), its layers compressed as
// `compression` says (compressed copies are cached in the store, so a second push or export
// does not compress again). `cancel` (may be empty) is polled while layers are compressed.
// Errors are ImageForOutput's and registry::Push's.
Result<PushedFromStore> PushFromStore(registry::RegistryClient& client, image::ImageStore& store,
                                      const image::Image& image, const image::Reference& ref,
                                      const image::OutputCompression& compression,
                                      const registry::PushOptions& options,
                                      const base::CancelCheck& cancel = {});

class RegistryImagePusher : public build::ImagePusher {
 public:
  // `config` and `session` (the build's broker session, which serves the registry
  // credentials) are not owned and must outlive the pusher. Nothing is opened until the first
  // push.
  RegistryImagePusher(const Config& config, Session& session)
      : config_(config), session_(session) {}

  Result<build::PushedImage> Push(const image::ImageRef& name, const image::Image& image,
                                  image::ImageStore& store,
                                  const image::OutputCompression& compression,
                                  const build::PushProgressFn& progress) override;

 private:
  const Config& config_;
  Session& session_;
  std::unique_ptr<CliRegistry> registry_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REGISTRY_IMAGE_PUSHER_H_
