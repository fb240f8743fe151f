// Test-only: an in-memory HttpTransport that answers from a handler and injects transport
// faults behind the same interface the real CurlTransport implements: a connection dropped
// after N body bytes, a stall, a refused connection. Requests are recorded (with the
// Authorization value as text, which only tests may do) for assertions.
#ifndef LATCHKEY_REGISTRY_FAKE_TRANSPORT_TESTUTIL_H_
#define LATCHKEY_REGISTRY_FAKE_TRANSPORT_TESTUTIL_H_

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "registry/http_transport.h"

namespace latchkey::registry {

struct FakeResponse {
  int status = 200;
  std::multimap<std::string, std::string> headers;
  std::string body;
  int64_t drop_after = -1;   // deliver this many body bytes, then fail as kDropped
  bool stall = false;        // deliver half the body, then fail as kStalled
  bool refuse = false;       // fail as kConnect before anything arrives
  bool honour_range = true;  // answer a Range request with 206 and the tail
  // Deliver half the body, then wait until the request's cancel check says stop (kCancelled),
  // as the real transport does while a server holds data back. The request must have one.
  bool wait_for_cancel = false;
};

class FakeTransport : public HttpTransport {
 public:
  struct Seen {
    std::string method, url, authorization, body;  // body: a POST's, or a PUT/PATCH upload's
    std::vector<std::pair<std::string, std::string>> headers;
    bool had_authorization = false;
    int64_t range_start = -1;
  };
  using Handler = std::function<FakeResponse(const HttpRequest&, const Seen&)>;
  explicit FakeTransport(Handler h) : handler_(std::move(h)) {}

  TransportResult Do(const HttpRequest& req, BodySink& sink) override {
    Seen s;
    s.method = req.method;
    s.url = req.url;
    s.range_start = req.range_start;
    if (req.authorization) {
      s.had_authorization = true;
      s.authorization.assign(reinterpret_cast<const char*>(req.authorization->data()),
                             req.authorization->size());
    }
    s.headers = req.headers;
    if (req.body) s.body.assign(reinterpret_cast<const char*>(req.body->data()), req.body->size());
    if (req.upload) {
      // Read as a server would (every request sends the body again from its start).
      TransportResult r;
      r.status = req.upload->Rewind();
      char buf[4096];
      while (r.status.ok()) {
        Result<size_t> n = req.upload->Read(buf, sizeof buf);
        if (!n.ok()) r.status = n.status();
        if (!n.ok() || *n == 0) break;
        s.body.append(buf, *n);
      }
      if (!r.status.ok()) {
        r.failure = TransportFailure::kOther;
        return r;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(s);
    }
    FakeResponse f = handler_(req, s);
    TransportResult r;
    if (f.refuse) {
      r.status = UnavailableError("Connection refused");
      r.failure = TransportFailure::kConnect;
      return r;
    }
    std::string body = f.body;
    if (req.range_start > 0 && f.status == 200 && f.honour_range) {
      f.status = 206;
      body = body.substr(std::min<size_t>(body.size(), req.range_start));
    }
    r.response.status = f.status;
    r.response.headers = f.headers;
    r.response.protocol = "HTTP/1.1";
    r.status = sink.OnHeaders(r.response);
    if (!r.status.ok()) {
      r.failure = TransportFailure::kSink;
      return r;
    }
    size_t n = body.size();
    if (f.drop_after >= 0) n = std::min<size_t>(n, f.drop_after);
    if (f.stall || f.wait_for_cancel) n = body.size() / 2;
    if (n > 0) {
      r.status = sink.OnData(body.data(), n);
      if (!r.status.ok()) {
        r.failure = TransportFailure::kSink;
        return r;
      }
      r.body_bytes = static_cast<int64_t>(n);
    }
    if (f.wait_for_cancel) {
      for (;;) {
        Status c = base::PollCancel(req.cancel);
        if (!c.ok()) {
          r.status = c;
          r.failure = TransportFailure::kCancelled;
          return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    if (f.stall) {
      r.status = DeadlineExceededError("no data for 30s (the registry stalled)");
      r.failure = TransportFailure::kStalled;
    } else if (f.drop_after >= 0 && static_cast<size_t>(f.drop_after) < body.size()) {
      r.status = UnavailableError("the connection closed early (transfer closed)");
      r.failure = TransportFailure::kDropped;
    }
    return r;
  }

  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  Handler handler_;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_FAKE_TRANSPORT_TESTUTIL_H_
