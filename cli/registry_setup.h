// The registry client latchkey's commands share: `latchkey pull` and builds that pull
// (registry_image_puller.h) open it the same way, here. Credentials come from Docker's
// config.json ($DOCKER_CONFIG/config.json, else $HOME/.docker/config.json); per-host TLS and
// plain-HTTP settings from the configuration's `registries:` map (docs/registry.md).
//
// Thread-safety: a CliRegistry's client may be used from several threads (registry_client.h).
#ifndef LATCHKEY_CLI_REGISTRY_SETUP_H_
#define LATCHKEY_CLI_REGISTRY_SETUP_H_

#include <memory>
#include <string>

#include "broker/config.h"
#include "builder/image/image_store.h"
#include "builder/image/reference.h"
#include "latchkey/status.h"
#include "registry/curl_transport.h"
#include "registry/docker_config_credentials.h"
#include "registry/puller.h"
#include "registry/registry_client.h"

namespace latchkey::cli {

class CliRegistry {
 public:
  // `config` is not owned and must outlive the result. Fails only when libcurl cannot be set
  // up (CurlTransport::Create's error).
  static Result<std::unique_ptr<CliRegistry>> Open(const Config& config);

  registry::RegistryClient& client() { return client_; }

  CliRegistry(const CliRegistry&) = delete;
  CliRegistry& operator=(const CliRegistry&) = delete;

 private:
  CliRegistry(std::unique_ptr<registry::CurlTransport> transport, std::string credentials_path,
              const Config& config);

  std::unique_ptr<registry::CurlTransport> transport_;
  registry::DockerConfigCredentials credentials_;
  registry::RegistryClient client_;
};

// The per-host TLS and plain-HTTP settings of the configuration's `registries:` map. `config`
// must outlive the result.
registry::HostOptionsFn HostOptionsFrom(const Config& config);

// Pulls `ref` into `store`'s blobs (registry::Pull) and, when `tag` is not empty, points the
// store's tag `tag` (NAME:TAG) at the image. Errors are registry::Pull's or ImageStore::Tag's;
// a failed pull tags nothing.
Result<registry::PullResult> PullIntoStore(registry::RegistryClient& client,
                                           image::ImageStore& store, const image::Reference& ref,
                                           const registry::PullOptions& options,
                                           const std::string& tag);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REGISTRY_SETUP_H_
