// RegistryClient's push requests (registry_client.h): HEAD a blob, start an upload (or a
// cross-repository mount), PATCH chunks, PUT the rest, PUT a manifest.
#include <cstdlib>

#include "builder/image/digest.h"
#include "registry/registry_client.h"
#include "registry/upload_source.h"

namespace latchkey::registry {
namespace {

constexpr const char* kPush = "pull,push";

// The URL with one more query parameter.
std::string WithQuery(const std::string& url, const std::string& key, const std::string& value) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + key + "=" + UrlEncode(value);
}

// A sink for answers whose body nobody reads (uploads answer 201/202 with an empty body).
class DiscardSink : public BodySink {
 public:
  Status OnHeaders(const HttpResponse&) override { return Status::OK(); }
  Status OnData(const char*, size_t) override { return Status::OK(); }
};

bool Ok(int st) { return st >= 200 && st < 300; }

}  // namespace

Status RegistryClient::PushHttpError(const std::string& host, const std::string& repository,
                                     const std::string& what, const Outcome& o) const {
  const int st = o.result.response.status;
  if (st == 404) return HttpError(host, "repository " + host + "/" + repository, o);
  Status s = HttpError(host, what, o);
  // A 4xx other than 429 will not go away by trying again: not UNAVAILABLE.
  if (st >= 400 && st < 500 && st != 429 && s.code() == StatusCode::kUnavailable) {
    return FailedPreconditionError(s.message());
  }
  return s;
}

Result<bool> RegistryClient::BlobExists(const std::string& host, const std::string& repository,
                                        const std::string& digest) {
  HttpRequest req;
  req.method = "HEAD";
  DiscardSink sink;
  Outcome o = Send(host, repository, req, "/v2/" + repository + "/blobs/" + digest, sink, kPush);
  if (!o.result.status.ok()) return Failure(host, "blob " + digest, o.result);
  const int st = o.result.response.status;
  if (Ok(st)) return true;
  if (st == 404) return false;
  return PushHttpError(host, repository, "blob " + digest, o);
}

Result<RegistryClient::Upload> RegistryClient::StartUpload(const std::string& host,
                                                           const std::string& repository,
                                                           const std::string& mount_digest,
                                                           const std::string& from_repository) {
  const std::string what = "blob upload to " + host + "/" + repository;
  HttpRequest req;
  req.method = "POST";
  std::string path = "/v2/" + repository + "/blobs/uploads/";
  if (!mount_digest.empty()) {
    path = WithQuery(WithQuery(path, "mount", mount_digest), "from", from_repository);
  }
  DiscardSink sink;
  Outcome o = Send(host, repository, req, path, sink, kPush);
  if (!o.result.status.ok()) return Failure(host, what, o.result);
  const int st = o.result.response.status;
  Upload u;
  if (st == 201 && !mount_digest.empty()) {
    u.mounted = true;
    return u;
  }
  if (st != 202) {
    if (Ok(st)) {
      return FailedPreconditionError("registry " + host + ": " + what + ": unexpected answer " +
                                     std::to_string(st) + " (want 202 Accepted)");
    }
    return PushHttpError(host, repository, what, o);
  }
  const std::string loc = o.result.response.Header("location");
  if (loc.empty()) {
    return FailedPreconditionError("registry " + host + ": " + what +
                                   ": the registry sent no Location for the upload");
  }
  u.location = ResolveLocation(o.url, loc);
  const std::string min = o.result.response.Header("oci-chunk-min-length");
  if (!min.empty()) u.min_chunk = std::strtoll(min.c_str(), nullptr, 10);
  return u;
}

Result<std::string> RegistryClient::PatchUpload(const std::string& host,
                                                const std::string& repository,
                                                const std::string& location,
                                                const std::string& digest, int64_t start,
                                                BodySource& chunk) {
  const std::string what = "blob " + digest;
  HttpRequest req;
  req.method = "PATCH";
  req.upload = &chunk;
  req.headers.emplace_back("Content-Type", "application/octet-stream");
  req.headers.emplace_back("Content-Range",
                           std::to_string(start) + "-" + std::to_string(start + chunk.size() - 1));
  DiscardSink sink;
  Outcome o = Send(host, repository, req, location, sink, kPush);
  if (!o.result.status.ok()) return Failure(host, what, o.result);
  const int st = o.result.response.status;
  if (st == 416) {
    return FailedPreconditionError("registry " + host + ": " + what +
                                   ": the registry refused the chunk at byte " +
                                   std::to_string(start) + " (416 Range Not Satisfiable)");
  }
  if (!Ok(st)) return PushHttpError(host, repository, what, o);
  const std::string loc = o.result.response.Header("location");
  return loc.empty() ? location : ResolveLocation(location, loc);
}

Status RegistryClient::FinishUpload(const std::string& host, const std::string& repository,
                                    const std::string& location, const std::string& digest,
                                    BodySource* rest) {
  const std::string what = "blob " + digest;
  HttpRequest req;
  req.method = "PUT";
  req.upload = rest;
  req.headers.emplace_back("Content-Type", "application/octet-stream");
  DiscardSink sink;
  Outcome o = Send(host, repository, req, WithQuery(location, "digest", digest), sink, kPush);
  if (!o.result.status.ok()) return Failure(host, what, o.result);
  const int st = o.result.response.status;
  if (st == 413) {
    return ResourceExhaustedError("registry " + host + ": 413 Payload Too Large: " + what);
  }
  if (!Ok(st)) return PushHttpError(host, repository, what, o);
  const std::string got = o.result.response.Header("docker-content-digest");
  if (!got.empty() && got != digest) {
    return DataLossError("registry " + host + ": " + what + ": the registry stored it as " + got);
  }
  return Status::OK();
}

Result<std::string> RegistryClient::PutManifest(
    const std::string& host, const std::string& repository, const std::string& reference,
    const std::string& body, const std::string& media_type, const std::string& display) {
  const std::string what = "manifest for " + display;
  const std::string digest = image::Sha256Digest(body);
  HttpRequest req;
  req.method = "PUT";
  StringSource src(body);
  req.upload = &src;
  req.headers.emplace_back("Content-Type", media_type);
  DiscardSink sink;
  Outcome o =
      Send(host, repository, req, "/v2/" + repository + "/manifests/" + reference, sink, kPush);
  if (!o.result.status.ok()) return Failure(host, what, o.result);
  const int st = o.result.response.status;
  if (!Ok(st)) return PushHttpError(host, repository, what, o);
  const std::string got = o.result.response.Header("docker-content-digest");
  if (!got.empty() && got != digest) {
    return DataLossError(what + ": digest mismatch (pushed " + digest + ", the registry says " +
                         got + ")");
  }
  return digest;
}

}  // namespace latchkey::registry
