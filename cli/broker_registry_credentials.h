// BrokerRegistryCredentials: the registry client's CredentialSource (registry/credential_source.h)
// served by a build's broker Session: each Get is Session::FetchRegistry of the secret
// `registry:<host>` for the repository and scope, so policy decides (kind registry, host,
// repository, scope), the audit log records the grant before the credential is used, and the
// value is redacted and leak-scanned as any released secret. The value is a credential
// helper's JSON (registry/helper_credential.h), parsed in secure memory.
//
// It lives in cli/ because the registry client never includes the broker (the include-edge
// check enforces it) and cli/ may include both.
//
// Thread-safety: Get may be called concurrently (Session is thread-safe).
#ifndef LATCHKEY_CLI_BROKER_REGISTRY_CREDENTIALS_H_
#define LATCHKEY_CLI_BROKER_REGISTRY_CREDENTIALS_H_

#include <mutex>
#include <string>
#include <string_view>

#include "broker/session.h"
#include "registry/credential_source.h"

namespace latchkey::cli {

class BrokerRegistryCredentials : public registry::CredentialSource {
 public:
  // `session` is not owned and must outlive this object. `step` is what the requests are
  // recorded against (its instruction: "pull <ref>"). `dockerconfig_configured`: whether the
  // dockerconfig provider serves hosts without a `registries:` entry (for Describe).
  BrokerRegistryCredentials(Session& session, StepContext step, bool dockerconfig_configured)
      : session_(session), step_(std::move(step)), dockerconfig_(dockerconfig_configured) {}

  // Session::FetchRegistry({host, repository, scope}); the Credential's source names the
  // provider and its reference: "provider file (/etc/latchkey/reg.json)", "provider client
  // (the latchkeyd client's login for HOST)". Errors:
  // FetchRegistry's (NOT_FOUND: the client goes on anonymously; PERMISSION_DENIED names the
  // rule), or ParseHelperCredential's for a value that is not a credential helper's JSON.
  Result<registry::Credential> Get(std::string_view host, std::string_view repository,
                                   std::string_view scope) override;
  // "the registries: map of the latchkey configuration, then the dockerconfig provider", or
  // "the registries: map of the latchkey configuration; no dockerconfig provider is
  // configured"; a latchkeyd session that asks its client first
  // (SessionAttributes::client_registry) begins "the latchkeyd client's login (provider
  // client), then ".
  std::string Describe() const override;

  // What later requests are recorded against (a build pulls one image after another).
  void SetStep(StepContext step);

 private:
  Session& session_;
  mutable std::mutex mu_;
  StepContext step_;
  bool dockerconfig_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BROKER_REGISTRY_CREDENTIALS_H_
