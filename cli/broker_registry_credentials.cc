#include "cli/broker_registry_credentials.h"

#include "registry/helper_credential.h"

namespace latchkey::cli {

Result<registry::Credential> BrokerRegistryCredentials::Get(std::string_view host,
                                                            std::string_view repository,
                                                            std::string_view scope) {
  RegistryAccess access;
  access.host = std::string(host);
  access.repository = std::string(repository);
  access.scope = std::string(scope);
  StepContext step;
  {
    std::lock_guard lock(mu_);
    step = step_;
  }
  LK_ASSIGN_OR_RETURN(SecretView view, session_.FetchRegistry(access, step));
  std::string source = "provider " + view.provider();
  if (view.provider() == kClientProvider) {
    source += " (the latchkeyd client's login for " + view.reference() + ")";
  } else if (!view.reference().empty()) {
    source += " (" + view.reference() + ")";
  }
  LK_ASSIGN_OR_RETURN(
      registry::Credential cred,
      registry::ParseHelperCredential(view.bytes(), "secret " + view.id() + " from " + source));
  cred.source = std::move(source);
  return cred;
}

void BrokerRegistryCredentials::SetStep(StepContext step) {
  std::lock_guard lock(mu_);
  step_ = std::move(step);
}

std::string BrokerRegistryCredentials::Describe() const {
  std::string client = session_.attributes().client_registry
                           ? "the latchkeyd client's login (provider client), then "
                           : "";
  return client + (dockerconfig_
                       ? "the registries: map of the latchkey configuration, then the "
                         "dockerconfig provider"
                       : "the registries: map of the latchkey configuration; no dockerconfig "
                         "provider is configured");
}

}  // namespace latchkey::cli
