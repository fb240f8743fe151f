#include "registry/registry_client.h"

#include <nlohmann/json.hpp>

#include "builder/image/digest.h"
#include "registry/manifest.h"

namespace latchkey::registry {
namespace {

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxErrorBody = 64 << 10;

// Passes 2xx bodies to the caller's sink; keeps other bodies (error documents) aside.
class GateSink : public BodySink {
 public:
  explicit GateSink(BodySink& inner) : inner_(inner) {}
  Status OnHeaders(const HttpResponse& head) override {
    pass_ = head.status >= 200 && head.status < 300;
    error_body_.clear();
    if (pass_) return inner_.OnHeaders(head);
    return Status::OK();
  }
  Status OnData(const char* data, size_t n) override {
    if (pass_) return inner_.OnData(data, n);
    if (error_body_.size() < kMaxErrorBody) {
      error_body_.append(data, std::min(n, kMaxErrorBody - error_body_.size()));
    }
    return Status::OK();
  }
  std::string error_body_;

 private:
  BodySink& inner_;
  bool pass_ = false;
};

std::string ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// The first message of a registry error document ({"errors":[{"code","message"}]}).
std::string RegistryMessage(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return "";
  auto e = j.find("errors");
  if (e == j.end() || !e->is_array() || e->empty() || !(*e)[0].is_object()) return "";
  std::string m = (*e)[0].value("message", std::string());
  if (m.size() > 200) m = m.substr(0, 200) + "...";
  return m;
}

}  // namespace

std::string ApiHost(const std::string& domain) {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

RegistryClient::RegistryClient(HttpTransport* transport, CredentialSource* credentials,
                               HostOptionsFn options)
    : transport_(transport),
      credentials_(credentials),
      options_(options ? std::move(options) : [](const std::string&) { return HostOptions(); }),
      auth_(&transport_, credentials, options_) {}

std::string RegistryClient::Scheme(const std::string& host) {
  if (options_(host).insecure) return "http";
  std::lock_guard<std::mutex> lock(mu_);
  auto it = scheme_.find(host);
  return it == scheme_.end() ? "https" : it->second;
}

RegistryClient::Outcome RegistryClient::Send(const std::string& host, const std::string& repository,
                                             HttpRequest req, const std::string& path,
                                             BodySink& sink, const std::string& actions) {
  const std::string scope = repository.empty() ? "" : "repository:" + repository + ":" + actions;
  const std::string api = ApiHost(host);
  Outcome o;
  bool reauthed = false;
  for (;;) {
    // An upload session's Location is an absolute URL (push), anything else a path.
    req.url = path.rfind("http", 0) == 0 ? path : Scheme(host) + "://" + api + path;
    o.auth = auth_.Cached(host, scope);
    GateSink gate(sink);
    int redirects = 0;
    for (;;) {
      // The credential goes only to the registry's own host.
      const bool same_host = UrlHostPort(req.url) == api;
      req.authorization = same_host && o.auth.header ? o.auth.header.get() : nullptr;
      ApplyHostTls(same_host ? options_(host) : options_(UrlHostPort(req.url)), &req);
      o.result = transport_.Do(req, gate);
      o.url = req.url;
      if (!o.result.status.ok()) {
        if (o.result.failure == TransportFailure::kNotTls && redirects == 0 &&
            IsLoopbackHost(api) && req.url.rfind("https://", 0) == 0 &&
            path.rfind("http", 0) != 0) {
          // A loopback registry on plain HTTP, as Docker allows.
          {
            std::lock_guard<std::mutex> lock(mu_);
            scheme_[host] = "http";
          }
          req.url = "http://" + api + path;
          continue;
        }
        o.error_body = gate.error_body_;
        return o;
      }
      int st = o.result.response.status;
      if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) &&
          !o.result.response.Header("location").empty() && redirects < kMaxRedirects) {
        ++redirects;
        req.url = ResolveLocation(req.url, o.result.response.Header("location"));
        if (st == 303) req.method = "GET";
        continue;
      }
      break;
    }
    o.error_body = gate.error_body_;
    if (o.result.response.status != 401 || reauthed) return o;
    reauthed = true;
    if (o.auth.header) auth_.Forget(host, scope);
    std::vector<Challenge> challenges;
    for (const auto& h : o.result.response.Headers("www-authenticate")) {
      auto parsed = ParseWwwAuthenticate(h);
      if (parsed.ok()) challenges.insert(challenges.end(), parsed->begin(), parsed->end());
    }
    auto v = auth_.Authenticate(host, repository, scope, challenges);
    if (!v.ok()) {
      o.result.status = v.status();
      o.result.failure = TransportFailure::kOther;
      return o;
    }
  }
}

Status RegistryClient::Failure(const std::string& host, const std::string& what,
                               const TransportResult& r, const std::string& certs_dir) {
  const std::string& detail = r.status.message();
  switch (r.failure) {
    case TransportFailure::kConnect:
      return UnavailableError("cannot reach registry " + host + ": " + detail);
    case TransportFailure::kTls:
      if (!certs_dir.empty()) {
        return FailedPreconditionError(
            "registry " + host + ": TLS certificate verification failed (" + detail + "); if " +
            host + " uses a private CA, put its certificate in " + certs_dir +
            "/ca.crt, or set registries: {\"" + host +
            "\": {ca_file: /path/to/ca.crt}} in the latchkey configuration");
      }
      return FailedPreconditionError(
          "registry " + host + ": TLS certificate verification failed (" + detail + "); if " +
          host + " uses a private CA, add it to the latchkey configuration: registries: {\"" +
          host + "\": {ca_file: /path/to/ca.crt}}");
    case TransportFailure::kClientCert:
      return FailedPreconditionError(
          "registry " + host + " refused the TLS client certificate, or wanted one and got none; " +
          (certs_dir.empty()
               ? std::string()
               : "put the certificate in " + certs_dir + "/client.cert and its key in " +
                     certs_dir + "/client.key, or ") +
          "set registries: {\"" + host +
          "\": {client_cert: /path/to/client.cert, client_key: /path/to/client.key}} in the "
          "latchkey configuration");
    case TransportFailure::kNotTls:
      return FailedPreconditionError("registry " + host +
                                     " does not speak TLS; if it is a plain HTTP registry, set "
                                     "registries: {\"" +
                                     host + "\": {insecure: true}} in the latchkey configuration");
    case TransportFailure::kStalled:
    case TransportFailure::kDropped:
      return Status(r.status.code(), "registry " + host + ": " + what + ": " + detail);
    case TransportFailure::kSink:
    case TransportFailure::kCancelled:
      return r.status;
    case TransportFailure::kOther:
    case TransportFailure::kNone:
      break;
  }
  // Authentication errors already name the host, and so do the credential source's (the
  // broker's "secret registry:HOST (pull team/app): denied by policy rule ...").
  if (detail.rfind("registry ", 0) == 0 || detail.rfind("secret registry:", 0) == 0) {
    return r.status;
  }
  return Status(r.status.code(), "registry " + host + ": " + what + ": " + detail);
}

Status RegistryClient::HttpError(const std::string& host, const std::string& what,
                                 const Outcome& o) const {
  int st = o.result.response.status;
  std::string msg = RegistryMessage(o.error_body);
  std::string status_text =
      std::to_string(st) + (ReasonPhrase(st).empty() ? "" : " " + ReasonPhrase(st));
  if (st == 401) {
    if (o.auth.with_credential) {
      return UnauthenticatedError("registry " + host + ": 401 Unauthorized: the credential from " +
                                  o.auth.source + " was rejected");
    }
    return UnauthenticatedError(
        "registry " + host + ": 401 Unauthorized: authentication required, and no credential for " +
        host + " was found (looked in: " + credentials_->Describe() + ")");
  }
  if (st == 404) {
    return NotFoundError(what + " not found: " + (msg.empty() ? status_text : msg));
  }
  if (st == 403) {
    return PermissionDeniedError("registry " + host + ": " + status_text + ": " + what +
                                 (msg.empty() ? "" : ": " + msg));
  }
  return UnavailableError("registry " + host + ": " + status_text + ": " + what +
                          (msg.empty() ? "" : ": " + msg));
}

Result<FetchedManifest> RegistryClient::GetManifest(const std::string& host,
                                                    const std::string& repository,
                                                    const std::string& reference,
                                                    const std::string& display) {
  const std::string what = "manifest for " + display;
  HttpRequest req;
  req.headers.emplace_back("Accept", kManifestAccept);
  StringSink sink(kMaxManifestBytes, what);
  Outcome o = Send(host, repository, req, "/v2/" + repository + "/manifests/" + reference, sink);
  if (!o.result.status.ok()) {
    if (o.result.failure == TransportFailure::kSink &&
        o.result.status.code() == StatusCode::kResourceExhausted) {
      return InvalidArgumentError(what + " is larger than 4 MiB; refusing it");
    }
    return Failure(host, what, o.result, options_(host).certs_dir);
  }
  if (o.result.response.status < 200 || o.result.response.status >= 300) {
    return HttpError(host, what, o);
  }
  FetchedManifest m;
  m.body = sink.body();
  m.content_type = o.result.response.Header("content-type");
  m.digest = image::Sha256Digest(m.body);
  std::string expected = reference.rfind("sha256:", 0) == 0
                             ? reference
                             : o.result.response.Header("docker-content-digest");
  if (!expected.empty() && expected.rfind("sha256:", 0) == 0 && expected != m.digest) {
    return DataLossError(what + ": digest mismatch (got " + m.digest + ", the registry says " +
                         expected + ")");
  }
  return m;
}

Status RegistryClient::GetBlob(const std::string& host, const std::string& repository,
                               const std::string& digest, int64_t offset, BodySink& sink,
                               TransportResult* result) {
  const std::string what = "blob " + digest;
  HttpRequest req;
  if (offset > 0) req.range_start = offset;
  Outcome o = Send(host, repository, req, "/v2/" + repository + "/blobs/" + digest, sink);
  if (result) *result = o.result;
  if (!o.result.status.ok()) return Failure(host, what, o.result, options_(host).certs_dir);
  int st = o.result.response.status;
  if (st < 200 || st >= 300) {
    if (st == 404) {
      return NotFoundError("blob " + digest + " not found in " + host + "/" + repository);
    }
    return HttpError(host, what, o);
  }
  return Status::OK();
}

Status RegistryClient::CheckLogin(const std::string& host) {
  HttpRequest req;
  StringSink sink(kMaxErrorBody, "login");
  Outcome o = Send(host, "", req, "/v2/", sink);
  if (!o.result.status.ok()) return Failure(host, "login", o.result);
  int st = o.result.response.status;
  if (st < 200 || st >= 300) return HttpError(host, "login", o);
  return Status::OK();
}

}  // namespace latchkey::registry
