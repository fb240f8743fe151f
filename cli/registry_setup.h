// The registry client latchkey's commands share: `latchkey pull` and builds that pull
// (registry_image_puller.h) open it the same way, here. Credentials come from the command's
// broker session (the secret `registry:<host>`, broker_registry_credentials.h); per-host TLS
// and plain-HTTP settings from the configuration's `registries:` map and Docker's
// `certs.d/<host:port>/{ca.crt,client.cert,client.key}` layout under the configuration's
// certs_dir (docs/registry.md).
//
// Thread-safety: a CliRegistry's client may be used from several threads (registry_client.h).
#ifndef LATCHKEY_CLI_REGISTRY_SETUP_H_
#define LATCHKEY_CLI_REGISTRY_SETUP_H_

#include <map>
#include <memory>
#include <string>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/session.h"
#include "builder/image/image_store.h"
#include "builder/image/reference.h"
#include "cli/broker_registry_credentials.h"
#include "latchkey/status.h"
#include "registry/curl_transport.h"
#include "registry/puller.h"
#include "registry/registry_client.h"

namespace latchkey::cli {

// The TLS and plain-HTTP settings for `host`: the `registries:` entry's ca_file, client_cert
// and client_key, else the files of `<config.certs_dir>/<host>/` that exist (ca.crt;
// client.cert with client.key), and that directory as the place an unknown-CA error names.
registry::HostOptions RegistryHostOptions(const Config& config, const std::string& host);

class CliRegistry {
 public:
  // `config` and `session` are not owned and must outlive the result; credentials are asked
  // for with `step` (StepContext::instruction "pull <ref>"). Fails only when libcurl cannot be
  // set up (CurlTransport::Create's error).
  static Result<std::unique_ptr<CliRegistry>> Open(const Config& config, Session& session,
                                                   StepContext step);

  registry::RegistryClient& client() { return client_; }
  // The step later credential requests are recorded against.
  void SetStep(StepContext step) { credentials_.SetStep(std::move(step)); }

  CliRegistry(const CliRegistry&) = delete;
  CliRegistry& operator=(const CliRegistry&) = delete;

 private:
  CliRegistry(std::unique_ptr<registry::CurlTransport> transport, const Config& config,
              Session& session, StepContext step);

  std::unique_ptr<registry::CurlTransport> transport_;
  BrokerRegistryCredentials credentials_;
  registry::RegistryClient client_;
};

// The StepContext of a registry request made to pull `ref` outside a RUN step: instruction
// "pull <ref>", the rest empty.
StepContext PullStep(const std::string& ref);
// Likewise for pushing `ref`: instruction "push <ref>".
StepContext PushStep(const std::string& ref);

// The broker session of a registry command run outside a build (`latchkey pull`, `latchkey
// push`): the broker started from `config`, one session with the caller's attributes (uid,
// user, working directory) and `labels`, whose Close writes session.close and the checkpoint.
class RegistryCommandSession {
 public:
  // Errors: Broker::Start's, SessionManager::Open's.
  static Result<std::unique_ptr<RegistryCommandSession>> Start(
      const Config& config, std::map<std::string, std::string> labels = {});
  Session& session() { return *session_; }
  // Session::Close(reason).
  Status Close(const std::string& reason) { return session_->Close(reason); }

 private:
  RegistryCommandSession() = default;
  std::unique_ptr<Broker> broker_;
  std::shared_ptr<Session> session_;
};

// RegistryHostOptions for every host, as the registry client's HostOptionsFn. `config` must
// outlive the result.
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
