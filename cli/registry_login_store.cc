#include "cli/registry_login_store.h"

#include <ostream>

#include "secure/docker_config.h"

namespace latchkey::cli {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<LoginDestination> LoginDestinationFor(const Config& config, const std::string& host) {
  LoginDestination d;
  for (const RegistryHostConfig& r : config.registries) {
    if (r.host != host) continue;
    if (r.provider.empty() || r.provider == "dockerconfig") return d;
    if (r.provider == "store") {
      d.kind = LoginDestination::kEncryptedStore;
      d.ref = r.ref;
      return d;
    }
    return FailedPreconditionError(
        "registries: entry for " + host + " (" + r.where.ToString() +
        ") takes the credential from provider \"" + r.provider + "\" (" + r.ref +
        "); latchkey login stores into the encrypted store (provider: store) or Docker's "
        "configuration (no provider, or provider: dockerconfig): update that source yourself");
  }
  return d;
}

Result<std::string> StoreLoginInStore(store::Store& store, const std::string& ref,
                                      const std::string& host, const TypedCredential& credential) {
  LK_ASSIGN_OR_RETURN(SecretBuffer json,
                      docker_config::CredentialJson(host, Bytes(credential.username()),
                                                    credential.password().bytes()));
  auto existing = store.Inspect(store::Reference{ref, 0});
  if (existing.ok()) {
    LK_ASSIGN_OR_RETURN(uint64_t version, store.Rotate(ref, json.bytes()));
    return ref + "@" + std::to_string(version);
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  LK_ASSIGN_OR_RETURN(store::SecretInfo info,
                      store.Create(ref, json.bytes(), {{"latchkey.registry", host}}));
  return info.name + "@1";
}

Status LogoutFromStore(store::Store& store, const std::string& ref, const std::string& host,
                       std::ostream& out) {
  Status st = store.Remove(ref);
  if (st.code() == StatusCode::kNotFound) {
    out << "Not logged in to " << host << "\n";
    return Status::OK();
  }
  LK_RETURN_IF_ERROR(st);
  out << "Removing login credentials for " << host << "\n";
  return Status::OK();
}

}  // namespace latchkey::cli
