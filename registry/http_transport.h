// HttpTransport: one HTTP request at a time, the registry client's only way onto the network,
// small enough that tests put a fake registry or a fault injector behind it
// (fault_transport_testutil.h). The real one is CurlTransport (curl_transport.h).
//
// A transport never follows redirects (the client does, so that it decides which host sees
// the Authorization header) and never retries. Secret request parts (the Authorization value,
// a form body with a refresh token) are passed as SecretBuffers and never copied into a
// std::string by the transport.
#ifndef LATCHKEY_REGISTRY_HTTP_TRANSPORT_H_
#define LATCHKEY_REGISTRY_HTTP_TRANSPORT_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/cancel.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::registry {

// A request body streamed to the server (a blob being pushed, a manifest). Never secret.
// The transport calls Rewind before it sends the body (so a request retried after a 401 or
// redirected sends it again from the start), then Read until it returns 0.
// Thread-safety: used by one request at a time.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual int64_t size() const = 0;
  virtual Status Rewind() = 0;
  // Up to `n` bytes into `buf`; 0 at the end. An error aborts the request (kOther).
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

struct HttpRequest {
  std::string method = "GET";                                // GET, HEAD, POST, PUT or PATCH
  std::string url;                                           // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;  // never secret
  // The value of the Authorization header ("Bearer x", "Basic y"), or null for none.
  const SecretBuffer* authorization = nullptr;
  // A POST body (application/x-www-form-urlencoded), or null.
  const SecretBuffer* body = nullptr;
  // A PUT or PATCH body, or null for an empty one. Not owned; `body` must be null.
  BodySource* upload = nullptr;
  // Ask for the bytes from this offset on ("Range: bytes=N-"); -1 for the whole entity.
  int64_t range_start = -1;
  // A PEM file of extra trusted CAs (on top of the system store); "" for the system store only.
  std::string ca_file;
  // A TLS client certificate and its key (PEM files), or "" for none.
  std::string client_cert;
  std::string client_key;
  // Polled while the request waits or transfers (at least once a second); a non-OK Status
  // aborts it and is returned as is (kCancelled). Empty: never cancelled.
  base::CancelCheck cancel;
};

struct HttpResponse {
  int status = 0;
  // Header names in lower case; a repeated header keeps every value, in order.
  std::multimap<std::string, std::string> headers;
  // The first value of header `name` (lower case), or "".
  std::string Header(std::string_view name) const;
  // Every value of header `name` (lower case).
  std::vector<std::string> Headers(std::string_view name) const;
  // The protocol the response came over: "HTTP/1.1", "HTTP/2".
  std::string protocol;
};

// Receives one response: its status and headers first, then the body in order. A non-OK
// Status from either call aborts the transfer; the transport then returns that Status.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Status OnHeaders(const HttpResponse& head) = 0;
  virtual Status OnData(const char* data, size_t size) = 0;
};

// Why a transfer failed, so the caller can decide to resume, report or give up.
enum class TransportFailure {
  kNone,
  kConnect,  // nothing was sent: refused, unreachable, DNS (UNAVAILABLE)
  kTls,      // the TLS handshake failed, e.g. an unknown CA (FAILED_PRECONDITION)
  kNotTls,   // the server does not speak TLS (the https:// URL reached a plain HTTP port)
  // The server refused the TLS client certificate, or wanted one and got none (its "bad
  // certificate" / "certificate required" alert; FAILED_PRECONDITION).
  kClientCert,
  kDropped,    // the connection closed before the whole body arrived (UNAVAILABLE)
  kStalled,    // no data for the stall timeout (DEADLINE_EXCEEDED)
  kSink,       // the sink refused (its Status is returned as is)
  kCancelled,  // the request's cancel check said stop (its Status is returned as is)
  kOther,
};

struct TransportResult {
  Status status;
  TransportFailure failure = TransportFailure::kNone;
  HttpResponse response;   // what arrived before a failure (status 0 when nothing did)
  int64_t body_bytes = 0;  // body bytes handed to the sink
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Performs `request`, streaming the response into `sink`. Any HTTP status is a success of
  // the transport (the sink sees it); failures are described by TransportResult. Messages name
  // the URL's host and never contain header values. Thread-safe: concurrent calls are allowed.
  virtual TransportResult Do(const HttpRequest& request, BodySink& sink) = 0;
};

// Forwards every request to `inner` with the current cancel check set on it (a request that
// has its own keeps it), so one SetCancel reaches every request of an operation, token fetches
// included. Thread-safe; `inner` is not owned and must outlive this.
class CancellableTransport : public HttpTransport {
 public:
  explicit CancellableTransport(HttpTransport* inner) : inner_(inner) {}
  void SetCancel(base::CancelCheck cancel) {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_ = std::move(cancel);
  }
  // The current check's answer: OK when there is none or it says go on.
  Status Check() {
    base::CancelCheck cancel;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancel = cancel_;
    }
    return base::PollCancel(cancel);
  }
  TransportResult Do(const HttpRequest& request, BodySink& sink) override {
    base::CancelCheck cancel;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancel = cancel_;
    }
    if (!cancel || request.cancel) return inner_->Do(request, sink);
    HttpRequest with = request;
    with.cancel = std::move(cancel);
    return inner_->Do(with, sink);
  }

 private:
  HttpTransport* inner_;
  std::mutex mu_;
  base::CancelCheck cancel_;
};

// Collects a small body (an error document, a manifest) up to `limit` bytes; more is
// RESOURCE_EXHAUSTED "<what> is larger than <limit>". Not for secrets.
class StringSink : public BodySink {
 public:
  StringSink(size_t limit, std::string what) : limit_(limit), what_(std::move(what)) {}
  Status OnHeaders(const HttpResponse& head) override {
    head_ = head;
    body_.clear();
    return Status::OK();
  }
  Status OnData(const char* data, size_t size) override;
  const std::string& body() const { return body_; }
  const HttpResponse& head() const { return head_; }

 private:
  size_t limit_;
  std::string what_;
  std::string body_;
  HttpResponse head_;
};

// "127.0.0.1:5000" of "https://127.0.0.1:5000/v2/" ("" when the URL has no authority).
std::string UrlHostPort(std::string_view url);
// Resolves a Location header against the URL it answered (absolute, or a path on the same
// origin).
std::string ResolveLocation(std::string_view base_url, std::string_view location);
// Percent-encodes a query value.
std::string UrlEncode(std::string_view s);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_HTTP_TRANSPORT_H_
