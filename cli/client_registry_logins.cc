#include "cli/client_registry_logins.h"

#include <unistd.h>

#include "broker/plugin_loader.h"
#include "broker/provider_instance.h"
#include "broker/provider_process.h"
#include "broker/session.h"
#include "secure/docker_config.h"

namespace latchkey::cli {

Result<std::pair<std::string, std::string>> ClientRegistryLogins::SourceFor(
    const std::string& host) const {
  for (const auto& r : config_.registries) {
    if (r.host == host && !r.provider.empty()) return std::make_pair(r.provider, r.ref);
  }
  if (config_.FindPlugin(kDockerConfigProvider) != nullptr) {
    return std::make_pair(std::string(kDockerConfigProvider), host);
  }
  return NotFoundError("no login for " + host + ": the configuration's registries map has no " +
                       "entry \"" + host + "\" and no " + kDockerConfigProvider +
                       " provider is configured");
}

Result<Provider*> ClientRegistryLogins::InstanceFor(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = instances_.find(name);
  if (it != instances_.end()) return it->second.get();
  const PluginConfig* p = config_.FindPlugin(name);
  if (p == nullptr) return FailedPreconditionError("provider \"" + name + "\" is not configured");
  std::vector<ConfigValue> config;
  for (const auto& [key, value] : p->config) config.push_back(ConfigValue::Text(key, value));
  std::unique_ptr<Provider> instance;
  if (p->isolation == Isolation::kProcess) {
    ProcessProviderOptions o;
    o.name = p->name;
    o.host_path = config_.provider_host;
    o.plugin_path = p->path;
    o.sha256_pin = p->sha256;
    o.config = std::move(config);
    o.uid = p->uid;
    o.gid = p->gid;
    o.keep_fds = p->keep_fds;
    o.start_timeout = config_.fetch_timeout;
    o.crashes = std::make_shared<CrashTracker>(p->max_crashes, p->crash_window);
    LK_ASSIGN_OR_RETURN(instance, ProcessProvider::Create(std::move(o)));
  } else {
    PluginLoadOptions load;
    load.sha256_pin = p->sha256;
    LK_ASSIGN_OR_RETURN(auto library, PluginLoader::Load(p->path, load));
    LK_ASSIGN_OR_RETURN(instance, ProviderInstance::Create(std::move(library), config));
  }
  Provider* raw = instance.get();
  instances_.emplace(name, std::move(instance));
  return raw;
}

Result<session::RegistryLogin> ClientRegistryLogins::Lookup(const std::string& host) {
  auto source = SourceFor(host);
  if (!source.ok()) return source.status();
  const auto& [provider, ref] = *source;
  if (provider == kClientProvider) {
    return FailedPreconditionError("registries: entry for " + host +
                                   " names provider \"client\", which only latchkeyd has");
  }
  if (config_.FindPlugin(provider) == nullptr) {
    return FailedPreconditionError("registries: entry for " + host + " names provider \"" +
                                   provider + "\", which is not configured");
  }
  LK_ASSIGN_OR_RETURN(Provider * instance, InstanceFor(provider));
  FetchRequest req;
  req.ref = ref;
  req.secret_id = kRegistrySecretPrefix + host;
  req.requester_uid = static_cast<uint32_t>(::getuid());
  req.timeout = config_.fetch_timeout;
  LK_ASSIGN_OR_RETURN(FetchedSecret fetched, instance->Fetch(req));
  LK_ASSIGN_OR_RETURN(
      docker_config::Auth auth,
      docker_config::ParseCredentialJson(
          fetched.value.bytes(), "registry login for " + host + " from provider " + provider));
  session::RegistryLogin login;
  if (auth.identity_token.size() > 0) {
    login.secret = std::make_shared<const SecretBuffer>(std::move(auth.identity_token));
  } else {
    login.username = std::make_shared<const SecretBuffer>(std::move(auth.username));
    login.secret = std::make_shared<const SecretBuffer>(std::move(auth.password));
  }
  return login;
}

}  // namespace latchkey::cli
