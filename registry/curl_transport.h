// CurlTransport: HttpTransport over libcurl. A pool of easy handles, each keeping its open
// connections for the next request that takes it (so a pull reuses connections from any
// thread), and one CURLSH share for DNS and TLS sessions (libcurl does not support sharing a
// connection cache between concurrent threads); HTTP/2 when the server offers it over TLS
// (ALPN), else HTTP/1.1. TLS trusts
// the system store (/etc/ssl/certs) plus the request's CA file. A transfer that receives no
// byte for `stall_timeout` fails as kStalled.
//
// Secrets: the Authorization value is handed to libcurl as a header list node that points
// into the request's SecretBuffer (no std::string copy); libcurl formats the request in its
// own heap buffers, and libcurl is initialised with an allocator that wipes every block it
// frees (curl_wiping_alloc.h; docs/registry.md, "Where credentials live").
//
// Thread-safety: Do may be called from many threads at once.
#ifndef LATCHKEY_REGISTRY_CURL_TRANSPORT_H_
#define LATCHKEY_REGISTRY_CURL_TRANSPORT_H_

#include <chrono>
#include <memory>

#include "registry/http_transport.h"

namespace latchkey::registry {

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{30000};
  // No body byte for this long fails the transfer (libcurl's low-speed limit of 1 byte/s).
  std::chrono::seconds stall_timeout{30};
  std::string user_agent = "latchkey";
};

class CurlTransport : public HttpTransport {
 public:
  // Initialises libcurl once per process with the wiping allocator (curl_wiping_alloc.h).
  // INTERNAL when libcurl cannot initialise.
  static Result<std::unique_ptr<CurlTransport>> Create(const CurlOptions& options = {});
  ~CurlTransport() override;

  TransportResult Do(const HttpRequest& request, BodySink& sink) override;

  struct State;  // the share handle, its locks and the handle pool (curl_transport.cc)

 private:
  explicit CurlTransport(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_CURL_TRANSPORT_H_
