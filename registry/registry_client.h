// RegistryClient: the OCI Distribution API (Docker Registry HTTP API v2) as a pull and a push
// need it: manifests by tag or digest and blobs by digest, from byte offsets; blob HEADs,
// upload sessions (mount, PATCH, PUT) and manifest PUTs (registry_client_push.cc). It owns the
// protocol's policy decisions, so the transport stays dumb:
//   - scheme: https; plain http only for hosts configured `insecure: true` and, as in Docker,
//     for loopback hosts whose port does not speak TLS (tried after https);
//   - authentication: a 401 is answered through the Authenticator (challenge flow, token cache
//     per scope) and the request retried once; a second 401 is UNAUTHENTICATED;
//   - redirects (blob storage backends): followed up to 5 times; the Authorization header is
//     sent only to the registry's own host, never to the host a redirect points at;
//   - errors: one message per failure, naming the registry host (see the .cc's table and
//     docs/registry.md).
//
// Thread-safety: all methods may be called concurrently.
#ifndef LATCHKEY_REGISTRY_REGISTRY_CLIENT_H_
#define LATCHKEY_REGISTRY_REGISTRY_CLIENT_H_

#include <map>
#include <mutex>
#include <string>

#include "registry/authenticator.h"
#include "registry/credential_source.h"
#include "registry/http_transport.h"

namespace latchkey::registry {

struct FetchedManifest {
  std::string body;
  std::string content_type;
  std::string digest;  // sha256 of body (checked against the registry's Docker-Content-Digest)
};

class RegistryClient {
 public:
  // `transport` and `credentials` are not owned and must outlive the client.
  RegistryClient(HttpTransport* transport, CredentialSource* credentials, HostOptionsFn options);

  // Every request from now on polls `cancel` (at least once a second while it waits or
  // transfers) and ends with its Status when it is not OK: a pull or push stops within about
  // a second of Ctrl-C, its partial blob discarded. Empty: never cancelled. Set it between
  // operations, not while one runs.
  void SetCancel(base::CancelCheck cancel) { transport_.SetCancel(std::move(cancel)); }
  // The cancel check's answer now (OK without one). A pull or push that fails while it says
  // stop reports this, not whichever of its parallel transfers failed first.
  Status Cancelled() { return transport_.Check(); }

  // GET /v2/<repository>/manifests/<reference> (a tag or a digest). `display` names the image
  // in errors ("127.0.0.1:5000/app:1"). Errors:
  //   NOT_FOUND "manifest for DISPLAY not found: manifest unknown" (the registry's message)
  //   INVALID_ARGUMENT "manifest for DISPLAY is larger than 4 MiB …"
  //   DATA_LOSS "manifest for DISPLAY: digest mismatch (got sha256:…, the registry says
  //   sha256:…)" when a digest
  //   reference or the registry's Docker-Content-Digest disagrees with the body
  //   plus the connection errors of Failure().
  Result<FetchedManifest> GetManifest(const std::string& host, const std::string& repository,
                                      const std::string& reference, const std::string& display);

  // GET /v2/<repository>/blobs/<digest>, from byte `offset` (Range) when > 0. The body of a
  // 2xx answer goes to `sink` (its OnHeaders sees 200 or 206); anything else is an error:
  // NOT_FOUND "blob DIGEST not found in HOST/REPOSITORY". `result` (optional) receives the
  // transport's outcome so a caller can resume a dropped transfer.
  Status GetBlob(const std::string& host, const std::string& repository, const std::string& digest,
                 int64_t offset, BodySink& sink, TransportResult* result = nullptr);

  // GET /v2/ with the client's credential, answering the registry's challenge (no repository
  // scope), as `docker login` checks a login. OK on 2xx. UNAUTHENTICATED "registry HOST: 401
  // Unauthorized: the credential from SOURCE was rejected"; other answers and connection
  // failures as HttpError()/Failure() with WHAT "login".
  Status CheckLogin(const std::string& host);
  // --- Push (registry_client_push.cc). Every request asks for the scope
  // "repository:REPOSITORY:pull,push". Errors name the host; a 401 has GetManifest's texts, a
  // 404 is NOT_FOUND "repository HOST/REPOSITORY not found: <registry message>", another 4xx
  // FAILED_PRECONDITION "registry HOST: 400 Bad Request: WHAT: <registry message>", a 5xx
  // UNAVAILABLE in the same form, plus the connection errors of Failure().

  // HEAD /v2/<repository>/blobs/<digest>: true when the registry has the blob (2xx), false
  // on 404.
  Result<bool> BlobExists(const std::string& host, const std::string& repository,
                          const std::string& digest);

  struct Upload {
    bool mounted = false;   // 201: the blob was mounted from `from_repository`; done
    std::string location;   // else the upload session's URL (absolute)
    int64_t min_chunk = 0;  // OCI-Chunk-Min-Length: the registry wants chunks this large
  };
  // POST /v2/<repository>/blobs/uploads/, with ?mount=DIGEST&from=FROM when `mount_digest`
  // is not empty (a registry that does not mount answers 202 and an upload session, as for a
  // plain POST).
  Result<Upload> StartUpload(const std::string& host, const std::string& repository,
                             const std::string& mount_digest, const std::string& from_repository);

  // PATCH `location` with `chunk` (bytes [start, start + chunk.size()) of blob `digest`,
  // Content-Range: START-END). Returns the next location. A 416 is FAILED_PRECONDITION
  // "registry HOST: blob DIGEST: the registry refused the chunk at byte START (416 Range Not
  // Satisfiable)".
  Result<std::string> PatchUpload(const std::string& host, const std::string& repository,
                                  const std::string& location, const std::string& digest,
                                  int64_t start, BodySource& chunk);

  // PUT `location` with ?digest=DIGEST and `rest` (null: no body) closes the upload. The
  // registry's Docker-Content-Digest, when sent, must be `digest`: else DATA_LOSS
  // "registry HOST: blob DIGEST: the registry stored it as sha256:…". A 413 is
  // RESOURCE_EXHAUSTED "registry HOST: 413 Payload Too Large: blob DIGEST".
  Status FinishUpload(const std::string& host, const std::string& repository,
                      const std::string& location, const std::string& digest, BodySource* rest);

  // PUT /v2/<repository>/manifests/<reference> with Content-Type `media_type`. Returns the
  // digest of `body`, which the registry's Docker-Content-Digest must match: else DATA_LOSS
  // "manifest for DISPLAY: digest mismatch (pushed sha256:…, the registry says sha256:…)".
  // A rejected manifest: "registry HOST: 400 Bad Request: manifest for DISPLAY: <registry
  // message>".
  Result<std::string> PutManifest(const std::string& host, const std::string& repository,
                                  const std::string& reference, const std::string& body,
                                  const std::string& media_type, const std::string& display);

  // The message for a transport failure talking to `host` about `what`:
  //   kConnect: "cannot reach registry HOST: Connection refused"
  //   kTls:     "registry HOST: TLS certificate verification failed (<detail>); if HOST uses
  //             a private CA, put its certificate in CERTS_DIR/ca.crt, or set registries:
  //             {"HOST": {ca_file: /path/to/ca.crt}} in the latchkey configuration" (without
  //             `certs_dir`: "...; if HOST uses a private CA, add it to the latchkey
  //             configuration: registries: {"HOST": {ca_file: /path/to/ca.crt}}")
  //   kClientCert: "registry HOST refused the TLS client certificate, or wanted one and got
  //             none; put the certificate in CERTS_DIR/client.cert and its key in
  //             CERTS_DIR/client.key, or set registries: {"HOST": {client_cert: …, client_key:
  //             …}} in the latchkey configuration" (the certs.d part only with `certs_dir`)
  //   kNotTls:  "registry HOST does not speak TLS; if it is a plain HTTP registry, set
  //             registries: {"HOST": {insecure: true}} in the latchkey configuration"
  //   kStalled: "registry HOST: WHAT: no data for 30s (the registry stalled)"
  //   kDropped: "registry HOST: WHAT: the connection closed early (...)"
  static Status Failure(const std::string& host, const std::string& what, const TransportResult& r,
                        const std::string& certs_dir = "");

 private:
  struct Outcome {
    TransportResult result;
    std::string error_body;  // the body of a non-2xx answer (at most 64 KiB)
    AuthValue auth;          // what was sent last
    std::string url;         // the URL that gave the final answer
  };
  // `path` is "/v2/…" on the registry, or an absolute URL the registry gave (an upload's
  // Location). `actions` is the token scope's: "pull", or "pull,push" for a push.
  Outcome Send(const std::string& host, const std::string& repository, HttpRequest request,
               const std::string& path, BodySink& sink, const std::string& actions = "pull");
  std::string Scheme(const std::string& host);
  Status HttpError(const std::string& host, const std::string& what, const Outcome& o) const;
  Status PushHttpError(const std::string& host, const std::string& repository,
                       const std::string& what, const Outcome& o) const;

  CancellableTransport transport_;
  CredentialSource* credentials_;
  HostOptionsFn options_;
  Authenticator auth_;
  std::mutex mu_;
  std::map<std::string, std::string> scheme_;  // host -> "http" once https proved wrong
};

// The host the API is served from: "registry-1.docker.io" for "docker.io", else `domain`.
std::string ApiHost(const std::string& domain);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_REGISTRY_CLIENT_H_
