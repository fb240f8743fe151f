// ClientRegistryLogins: the registry logins `latchkey build --host` serves to latchkeyd on its
// session (moby.filesync.v1.Auth/Credentials, session/auth_service.h: this is its lookup), read
// here, on the client, from the source an embedded `latchkey pull` on this host would use for
// the host: the configuration's `registries:` entry (its provider and reference), else the
// dockerconfig provider with the host as reference (Docker's config.json, credsStore,
// credHelpers; `latchkey login` writes there or, by the entry, into the encrypted store). Each
// source is read through its configured provider plugin, the code the broker runs (an inline
// instance, or latchkey-provider-host for `isolation: process`), so it answers what the
// embedded broker would. No policy and no audit here, as for the `--secret` values of a daemon
// build: the daemon's broker decides and records (provider "client", broker/session.h); this
// only reads, when the daemon asks.
//
// Lookup(host): the login, from a credential helper's JSON (Username "<token>": an identity
// token, returned with a null username). NOT_FOUND (the daemon then uses its own credentials)
// when the source has no login for the host, or when no `registries:` entry names the host
// and no dockerconfig provider is configured. Other errors fail the daemon's request with this
// text: FAILED_PRECONDITION "registries: entry for <host> names provider \"<p>\", which is not
// configured", the provider's own errors, or "registry login for <host> from provider <p>:
// <what is malformed>" (never a value).
//
// Thread-safety: Lookup may be called concurrently (instances are made once, under a lock;
// providers are thread-safe).
#ifndef LATCHKEY_CLI_CLIENT_REGISTRY_LOGINS_H_
#define LATCHKEY_CLI_CLIENT_REGISTRY_LOGINS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "broker/config.h"
#include "broker/provider.h"
#include "latchkey/status.h"
#include "session/auth_service.h"

namespace latchkey::cli {

class ClientRegistryLogins {
 public:
  // `config` is copied (its `registries:` and plugins).
  explicit ClientRegistryLogins(const Config& config) : config_(config) {}

  Result<session::RegistryLogin> Lookup(const std::string& host);

  // The provider and reference Lookup reads for `host`; NOT_FOUND as Lookup's.
  Result<std::pair<std::string, std::string>> SourceFor(const std::string& host) const;

 private:
  Result<Provider*> InstanceFor(const std::string& name);

  const Config config_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Provider>> instances_;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_CLIENT_REGISTRY_LOGINS_H_
