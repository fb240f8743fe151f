#include "registry/authenticator.h"

#include <sodium.h>

#include <cstring>

#include "secure/secure_json.h"

namespace latchkey::registry {
namespace {

constexpr size_t kMaxTokenResponse = 64 << 10;

// Collects a token server's answer into secure memory.
class SecretSink : public BodySink {
 public:
  Status Init() {
    LK_ASSIGN_OR_RETURN(buf_, SecretBuffer::Allocate(kMaxTokenResponse));
    return Status::OK();
  }
  Status OnHeaders(const HttpResponse& head) override {
    head_ = head;
    size_ = 0;
    return Status::OK();
  }
  Status OnData(const char* data, size_t n) override {
    if (size_ + n > kMaxTokenResponse) {
      return ResourceExhaustedError("the token server's answer is larger than 64 KiB");
    }
    std::memcpy(buf_.mutable_data() + size_, data, n);
    size_ += n;
    return Status::OK();
  }
  SecretBuffer Take() {
    buf_.Truncate(size_);
    buf_.Seal();
    return std::move(buf_);
  }
  const HttpResponse& head() const { return head_; }

 private:
  SecretBuffer buf_;
  size_t size_ = 0;
  HttpResponse head_;
};

// "<prefix><bytes...>" in a sealed SecretBuffer.
Result<SecretBuffer> Concat(std::string_view prefix,
                            std::initializer_list<std::span<const uint8_t>> parts) {
  size_t n = prefix.size();
  for (auto p : parts) n += p.size();
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(n));
  std::memcpy(out.mutable_data(), prefix.data(), prefix.size());
  size_t at = prefix.size();
  for (auto p : parts) {
    if (!p.empty()) std::memcpy(out.mutable_data() + at, p.data(), p.size());
    at += p.size();
  }
  out.Seal();
  return out;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// "Basic base64(user:password)".
Result<SecretBuffer> BasicValue(const Credential& c) {
  LK_ASSIGN_OR_RETURN(SecretBuffer pair,
                      Concat("", {c.username.bytes(), Bytes(":"), c.password.bytes()}));
  const size_t b64 = sodium_base64_encoded_len(pair.size(), sodium_base64_VARIANT_ORIGINAL);
  LK_ASSIGN_OR_RETURN(SecretBuffer enc, SecretBuffer::Allocate(b64));
  sodium_bin2base64(reinterpret_cast<char*>(enc.mutable_data()), b64, pair.data(), pair.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  enc.Truncate(b64 - 1);  // without the NUL
  enc.Seal();
  return Concat("Basic ", {enc.bytes()});
}

}  // namespace

void ApplyHostTls(const HostOptions& options, HttpRequest* req) {
  req->ca_file = options.ca_file;
  req->client_cert = options.client_cert;
  req->client_key = options.client_key;
}

std::string CredentialScope(const std::string& scope) {
  size_t colon = scope.rfind(':');
  std::string actions = colon == std::string::npos ? scope : scope.substr(colon + 1);
  for (size_t at = 0; at <= actions.size();) {
    size_t comma = actions.find(',', at);
    if (comma == std::string::npos) comma = actions.size();
    if (actions.compare(at, comma - at, "push") == 0 || actions.compare(at, comma - at, "*") == 0) {
      return "push";
    }
    at = comma + 1;
  }
  return "pull";
}

bool IsLoopbackHost(std::string_view host_port) {
  std::string h(host_port);
  if (!h.empty() && h.front() == '[') {
    size_t close = h.find(']');
    return close != std::string::npos && h.substr(1, close - 1) == "::1";
  }
  if (size_t colon = h.rfind(':'); colon != std::string::npos) h = h.substr(0, colon);
  return h == "localhost" || h.rfind("127.", 0) == 0;
}

AuthValue Authenticator::Cached(const std::string& host, const std::string& scope) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(host + " " + scope);
  if (it == cache_.end() && scope.size() > 5 && scope.compare(scope.size() - 5, 5, ":pull") == 0) {
    it = cache_.find(host + " " + scope + ",push");
  }
  return it == cache_.end() ? AuthValue() : it->second;
}

void Authenticator::Forget(const std::string& host, const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(host + " " + scope);
}

Result<AuthValue> Authenticator::Authenticate(const std::string& host,
                                              const std::string& repository,
                                              const std::string& scope,
                                              const std::vector<Challenge>& challenges) {
  Result<AuthValue> v = UnimplementedError("");
  std::string schemes;
  for (const auto& ch : challenges) {
    if (ch.scheme == "bearer") {
      v = Bearer(host, repository, scope, ch);
      break;
    }
  }
  if (!v.ok() && v.status().code() == StatusCode::kUnimplemented) {
    for (const auto& ch : challenges) {
      if (ch.scheme == "basic") {
        v = Basic(host, repository, scope);
        break;
      }
      schemes += (schemes.empty() ? "" : ", ") + ch.scheme;
    }
  }
  if (!v.ok() && v.status().code() == StatusCode::kUnimplemented && v.status().message().empty()) {
    return UnimplementedError("registry " + host + ": unsupported authentication scheme(s): " +
                              (schemes.empty() ? std::string("none offered") : schemes));
  }
  if (!v.ok()) return v.status();
  std::lock_guard<std::mutex> lock(mu_);
  cache_[host + " " + scope] = *v;
  return v;
}

Result<AuthValue> Authenticator::Basic(const std::string& host, const std::string& repository,
                                       const std::string& scope) {
  auto cred = credentials_->Get(host, repository, CredentialScope(scope));
  if (!cred.ok()) {
    if (cred.status().code() == StatusCode::kNotFound) {
      return UnauthenticatedError(
          "registry " + host +
          ": 401 Unauthorized: authentication required, and no credential for " + host +
          " was found (looked in: " + credentials_->Describe() + ")");
    }
    return cred.status();
  }
  if (cred->username.empty()) {
    return UnauthenticatedError("registry " + host +
                                ": 401 Unauthorized: the registry wants a username and "
                                "password, and " +
                                cred->source + " has only an identity token for " + host);
  }
  LK_ASSIGN_OR_RETURN(SecretBuffer value, BasicValue(*cred));
  AuthValue out;
  out.header = std::make_shared<const SecretBuffer>(std::move(value));
  out.with_credential = true;
  out.source = cred->source;
  return out;
}

Result<AuthValue> Authenticator::Bearer(const std::string& host, const std::string& repository,
                                        const std::string& scope, const Challenge& ch) {
  std::string realm = ch.Param("realm");
  if (realm.empty()) {
    return UnavailableError("registry " + host + ": its Bearer challenge has no realm");
  }
  const std::string realm_host = UrlHostPort(realm);
  HostOptions ropts = options_(realm_host);
  if (realm.rfind("https://", 0) != 0 &&
      !(realm.rfind("http://", 0) == 0 && (IsLoopbackHost(realm_host) || ropts.insecure))) {
    return FailedPreconditionError("registry " + host + ": token realm " + realm +
                                   " is not HTTPS; refusing to send a credential there");
  }
  // The scope the challenge names (it may be wider); ours otherwise.
  std::string want_scope = ch.Param("scope").empty() ? scope : ch.Param("scope");
  auto cred = credentials_->Get(host, repository, CredentialScope(want_scope));
  if (!cred.ok() && cred.status().code() != StatusCode::kNotFound) return cred.status();
  const bool have = cred.ok();

  HttpRequest req;
  SecretBuffer basic, form;
  std::string query =
      "service=" + UrlEncode(ch.Param("service")) + "&scope=" + UrlEncode(want_scope);
  if (have && !cred->identity_token.empty()) {
    req.method = "POST";
    req.url = realm;
    std::string pre = "grant_type=refresh_token&client_id=latchkey&" + query + "&refresh_token=";
    LK_ASSIGN_OR_RETURN(form, Concat(pre, {cred->identity_token.bytes()}));
    req.body = &form;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + query;
    if (have) {
      LK_ASSIGN_OR_RETURN(basic, BasicValue(*cred));
      req.authorization = &basic;
    }
  }
  ApplyHostTls(ropts, &req);
  SecretSink sink;
  LK_RETURN_IF_ERROR(sink.Init());
  TransportResult r = transport_->Do(req, sink);
  if (r.failure == TransportFailure::kCancelled) return r.status;
  if (!r.status.ok()) {
    return Status(r.status.code(),
                  "registry " + host + ": token server " + realm_host + ": " + r.status.message());
  }
  int st = r.response.status;
  const bool refresh = req.method == "POST";
  if (st == 401 || st == 403 || (refresh && st == 400)) {
    if (have) {
      return UnauthenticatedError("registry " + host + ": 401 Unauthorized: the credential from " +
                                  cred->source + " was rejected");
    }
    return UnauthenticatedError(
        "registry " + host + ": 401 Unauthorized: authentication required, and no credential for " +
        host + " was found (looked in: " + credentials_->Describe() + ")");
  }
  if (st < 200 || st >= 300) {
    return UnavailableError("registry " + host + ": token server " + realm_host + " answered " +
                            std::to_string(st));
  }
  SecretBuffer body = sink.Take();
  const std::string what = "the answer of token server " + realm_host;
  auto token = SecureJsonString(body.bytes(), {"token"}, what);
  if (!token.ok() || token->empty()) {
    token = SecureJsonString(body.bytes(), {"access_token"}, what);
  }
  if (!token.ok()) {
    if (token.status().code() == StatusCode::kNotFound) {
      return UnavailableError(what + " has no token");
    }
    return token.status();
  }
  LK_ASSIGN_OR_RETURN(SecretBuffer value, Concat("Bearer ", {token->bytes()}));
  AuthValue out;
  out.header = std::make_shared<const SecretBuffer>(std::move(value));
  out.with_credential = have;
  out.source = have ? cred->source : "";
  return out;
}

}  // namespace latchkey::registry
