#include "cli/registry_setup.h"

#include <cstdlib>
#include <map>
#include <utility>

namespace latchkey::cli {

CliRegistry::CliRegistry(std::unique_ptr<registry::CurlTransport> transport,
                         std::string credentials_path, const Config& config)
    : transport_(std::move(transport)),
      credentials_(std::move(credentials_path)),
      client_(transport_.get(), &credentials_, HostOptionsFrom(config)) {}

registry::HostOptionsFn HostOptionsFrom(const Config& config) {
  return [&config](const std::string& host) {
    registry::HostOptions o;
    if (const RegistryHostConfig* r = config.FindRegistry(host)) {
      o.insecure = r->insecure;
      o.ca_file = r->ca_file;
    }
    return o;
  };
}

Result<std::unique_ptr<CliRegistry>> CliRegistry::Open(const Config& config) {
  std::map<std::string, std::string> env;
  for (const char* name : {"DOCKER_CONFIG", "HOME"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  LK_ASSIGN_OR_RETURN(std::unique_ptr<registry::CurlTransport> transport,
                      registry::CurlTransport::Create());
  return std::unique_ptr<CliRegistry>(new CliRegistry(
      std::move(transport), registry::DockerConfigCredentials::DefaultPath(env), config));
}

Result<registry::PullResult> PullIntoStore(registry::RegistryClient& client,
                                           image::ImageStore& store, const image::Reference& ref,
                                           const registry::PullOptions& options,
                                           const std::string& tag) {
  LK_ASSIGN_OR_RETURN(registry::PullResult r, registry::Pull(client, store.blobs(), ref, options));
  if (!tag.empty()) LK_RETURN_IF_ERROR(store.Tag(tag, r.image));
  return r;
}

}  // namespace latchkey::cli
