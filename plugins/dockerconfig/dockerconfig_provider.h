// The bundled "dockerconfig" provider (latchkey-dockerconfig.so): registry credentials where
// `docker login` put them. The reference is a registry host ("registry.example.com:5000",
// "docker.io"); the value is the JSON a docker-credential helper prints:
//   {"ServerURL":"<host>","Username":"<user>","Secret":"<password>"}
// and for an identity token Username "<token>" and Secret the token (Docker's convention).
//
// Docker's lookup order (secure/docker_config.h, the same code the registry client and
// `latchkey login` use): the config file (config key `config_file`, else
// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json as they were when the instance was
// created); a `credHelpers` entry for the host, else `credsStore`, runs
// `docker-credential-<name> get` (secure/docker_credential_helper.h) and its answer is the
// credential, "credentials not found" being NOT_FOUND; without a helper, `auths.<host>`
// (`identitytoken`, else `auth`). The file is re-read on every fetch. See docs/providers.md.
//
// Values exist only in secure memory: the file and the helper's answer in SecretBuffers, the
// served value in host memory.
//
// Thread-safety: Fetch and List run concurrently (nothing mutable is shared).
#ifndef LATCHKEY_PLUGINS_DOCKERCONFIG_DOCKERCONFIG_PROVIDER_H_
#define LATCHKEY_PLUGINS_DOCKERCONFIG_DOCKERCONFIG_PROVIDER_H_

#include <memory>
#include <string>
#include <utility>

#include "latchkey/provider.hpp"

namespace latchkey::dockerconfig_provider {

class DockerConfigProvider {
 public:
  static constexpr const char* kName = "dockerconfig";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr lk_config_key kConfig[] = {
      {"config_file", LK_CONFIG_PATH, 0,
       "the Docker config.json to read (default: $DOCKER_CONFIG/config.json, else "
       "~/.docker/config.json)",
       nullptr},
  };
  static constexpr uint64_t kCapabilities = LK_CAP_DYNAMIC | LK_CAP_LIST;
  static constexpr uint32_t kThreading = LK_THREADING_CONCURRENT;

  static Result<std::unique_ptr<DockerConfigProvider>> Create(const sdk::Config& config,
                                                              sdk::Host& host);
  Result<sdk::Response> Fetch(const sdk::Request& req);
  // The hosts the file names in `auths` and `credHelpers` (a credsStore's content is not
  // listed: helpers' `list` is not asked).
  Status List(const sdk::ListSink& sink);

 private:
  explicit DockerConfigProvider(std::string path) : path_(std::move(path)) {}
  const std::string path_;
};

}  // namespace latchkey::dockerconfig_provider

#endif  // LATCHKEY_PLUGINS_DOCKERCONFIG_DOCKERCONFIG_PROVIDER_H_
