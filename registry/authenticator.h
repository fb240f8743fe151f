// Authenticator: answers a registry's 401 challenge (`WWW-Authenticate`, www_authenticate.h)
// with an Authorization value, using credentials from a CredentialSource.
//   Basic:  "Basic base64(user:password)"; NOT possible without a credential.
//   Bearer: a token from the challenge's realm (GET realm?service=&scope= with Basic
//           credentials, or anonymously; POST grant_type=refresh_token with an identity
//           token), "token" or "access_token" of its JSON answer; "Bearer <token>".
// Values are cached per (host, scope) for the client's lifetime; Forget drops one after the
// registry rejected it (the client re-authenticates once). Every value lives in a
// SecretBuffer; messages name hosts, realms and the credential source, never a value.
//
// Thread-safety: all methods may be called concurrently.
#ifndef LATCHKEY_REGISTRY_AUTHENTICATOR_H_
#define LATCHKEY_REGISTRY_AUTHENTICATOR_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "registry/credential_source.h"
#include "registry/http_transport.h"
#include "registry/www_authenticate.h"
#include "secure/secret_buffer.h"

namespace latchkey::registry {

// Per-host connection settings (from the configuration's `registries:` map).
struct HostOptions {
  bool insecure = false;    // plain HTTP allowed (loopback hosts are allowed without it)
  std::string ca_file;      // extra trusted CAs, PEM
  std::string client_cert;  // TLS client certificate, PEM ("" = none)
  std::string client_key;   // its key, PEM
  // Docker's certs.d directory for this host (<dir>/<host:port>), named in the message for
  // an unknown CA as the place that fixes it; "" = not named.
  std::string certs_dir;
};
using HostOptionsFn = std::function<HostOptions(const std::string& host)>;

// Sets `req`'s CA file and client certificate from `options`.
void ApplyHostTls(const HostOptions& options, HttpRequest* req);

// The action a token scope asks a credential for: "push" when `scope`
// ("repository:team/app:pull,push") includes push, else "pull" (CredentialSource::Get's scope).
std::string CredentialScope(const std::string& scope);

// True for "localhost", "127.x.x.x" and "[::1]" with or without a port.
bool IsLoopbackHost(std::string_view host_port);

struct AuthValue {
  std::shared_ptr<const SecretBuffer> header;  // the Authorization value
  bool with_credential = false;                // a credential (not an anonymous token) was used
  std::string source;                          // who supplied it ("" when anonymous)
};

class Authenticator {
 public:
  Authenticator(HttpTransport* transport, CredentialSource* credentials, HostOptionsFn options)
      : transport_(transport), credentials_(credentials), options_(std::move(options)) {}

  // The cached value for (host, scope), or an empty AuthValue. A value cached for
  // "repository:R:pull,push" also serves "repository:R:pull" (a push token may pull).
  AuthValue Cached(const std::string& host, const std::string& scope) const;
  void Forget(const std::string& host, const std::string& scope);

  // Answers `challenges` from `host` for `repository` and `scope` ("repository:team/app:pull")
  // and caches the value. The credential is asked for with CredentialScope(scope); a Bearer
  // token is asked for with the challenge's scope when it names one (a push after a pull: the
  // registry asks for "repository:R:pull,push", and the new token is cached for it). A token
  // server that refuses the credential (401, 403, or 400 for a refresh token, RFC 6749's
  // invalid_grant) gives the "was rejected" text. UNAUTHENTICATED texts:
  //   "registry HOST: 401 Unauthorized: the credential from SOURCE was rejected"
  //   "registry HOST: 401 Unauthorized: authentication required, and no credential for HOST
  //    was found (looked in: SOURCE)"
  // UNIMPLEMENTED "registry HOST: unsupported authentication scheme(s): negotiate";
  // FAILED_PRECONDITION "registry HOST: token realm URL is not HTTPS; refusing to send a
  // credential there".
  Result<AuthValue> Authenticate(const std::string& host, const std::string& repository,
                                 const std::string& scope,
                                 const std::vector<Challenge>& challenges);

 private:
  Result<AuthValue> Basic(const std::string& host, const std::string& repository,
                          const std::string& scope);
  Result<AuthValue> Bearer(const std::string& host, const std::string& repository,
                           const std::string& scope, const Challenge& ch);

  HttpTransport* transport_;
  CredentialSource* credentials_;
  HostOptionsFn options_;
  mutable std::mutex mu_;
  std::map<std::string, AuthValue> cache_;  // "host scope" -> value
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_AUTHENTICATOR_H_
