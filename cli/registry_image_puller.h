// RegistryImagePuller: the builder's ImagePuller (builder/solver/image_puller.h) over the
// registry client, opened as `latchkey pull` opens it (registry_setup.h): credentials from the
// build's broker session (`registry:<host>`, recorded against the step "pull <ref>") and the
// same `registries:` options. `latchkey build` sets it on its BuildRequest. It lives in cli/
// because the builder never includes the registry client.
//
// Thread-safety: Pull is called by one thread at a time (the build's).
#ifndef LATCHKEY_CLI_REGISTRY_IMAGE_PULLER_H_
#define LATCHKEY_CLI_REGISTRY_IMAGE_PULLER_H_

#include <memory>
#include <string>

#include "broker/config.h"
#include "builder/solver/image_puller.h"
#include "cli/registry_setup.h"

namespace latchkey::cli {

class RegistryImagePuller : public build::ImagePuller {
 public:
  // `config` and `session` (the build's) are not owned and must outlive the puller. Nothing is
  // opened until the first pull.
  RegistryImagePuller(const Config& config, Session& session)
      : config_(config), session_(session) {}

  // registry::Pull of `ref` for `platform` (registry::ParsePlatform: INVALID_ARGUMENT with its
  // text for a bad one) into `store`, tagged as its familiar NAME:TAG when `ref` has a tag and
  // no digest. The registry's events are passed on to `progress`.
  Result<build::PulledImage> Pull(const image::Reference& ref, const std::string& platform,
                                  image::ImageStore& store,
                                  const build::PullProgressFn& progress) override;

 private:
  const Config& config_;
  Session& session_;
  std::unique_ptr<CliRegistry> registry_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REGISTRY_IMAGE_PULLER_H_
