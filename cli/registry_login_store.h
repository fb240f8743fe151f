// Where `latchkey login HOST` keeps a login, decided by the host's `registries:` entry, so that
// the login lands where the broker will look for `registry:<host>`:
//   - no entry, an entry naming no provider, or `provider: dockerconfig`: Docker's storage
//     (registry_login.h: the configured credential helper, else config.json with Docker's
//     warning);
//   - `provider: store, ref: NAME`: latchkey's encrypted store, secret NAME (created, or a new
//     version of it), holding the credential helper's JSON that the store provider serves for
//     `registry:<host>` ({"ServerURL","Username","Secret"}); `latchkey logout HOST` removes NAME;
//   - another provider (a file, an environment variable, a third-party plugin): refused, since
//     latchkey cannot write there.
//
// Thread-safety: no shared state.
#ifndef LATCHKEY_CLI_REGISTRY_LOGIN_STORE_H_
#define LATCHKEY_CLI_REGISTRY_LOGIN_STORE_H_

#include <string>

#include "broker/config.h"
#include "cli/registry_login.h"
#include "latchkey/status.h"
#include "store/store.h"

namespace latchkey::cli {

struct LoginDestination {
  enum Kind { kDockerConfig, kEncryptedStore };
  Kind kind = kDockerConfig;
  std::string ref;  // kEncryptedStore: the store secret's name
};

// The destination for `host` (normalised, as in image references). FAILED_PRECONDITION for a
// provider latchkey cannot write:
//   "registries: entry for HOST (FILE:LINE:COL) takes the credential from provider "file"
//   (REF); latchkey login stores into the encrypted store (provider: store) or Docker's
//   configuration (no provider, or provider: dockerconfig): update that source yourself"
Result<LoginDestination> LoginDestinationFor(const Config& config, const std::string& host);

// Writes `credential` for `host` into `store` as the secret `ref`: version 1 with the label
// latchkey.registry=HOST when it does not exist, else a new version. Returns "NAME@VERSION".
// Errors are the store's (never containing the password).
Result<std::string> StoreLoginInStore(store::Store& store, const std::string& ref,
                                      const std::string& host, const TypedCredential& credential);

// Removes the secret `ref` (every version). Writes "Removing login credentials for HOST" to
// `out`, or "Not logged in to HOST" when there is no such secret (as Docker's logout).
Status LogoutFromStore(store::Store& store, const std::string& ref, const std::string& host,
                       std::ostream& out);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REGISTRY_LOGIN_STORE_H_
