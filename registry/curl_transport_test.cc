// CurlTransport against a raw TCP server on 127.0.0.1 that misbehaves on purpose: the failure
// classes the client acts on (dropped → resume, stalled → fail, plain HTTP on an https:// URL →
// loopback fallback, refused), and what goes on the wire (Range, the Authorization header).
#include "registry/curl_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "registry/one_shot_server_testutil.h"

namespace latchkey::registry {
namespace {

class CountingSink : public BodySink {
 public:
  Status OnHeaders(const HttpResponse& h) override {
    status = h.status;
    return Status::OK();
  }
  Status OnData(const char*, size_t n) override {
    bytes += n;
    return Status::OK();
  }
  int status = 0;
  size_t bytes = 0;
};

std::unique_ptr<CurlTransport> Transport() {
  CurlOptions o;
  o.stall_timeout = std::chrono::seconds(1);
  auto t = CurlTransport::Create(o);
  EXPECT_TRUE(t.ok());
  return std::move(*t);
}

TEST(CurlTransport, DroppedConnectionIsResumable) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'a'), false);
  CountingSink sink;
  HttpRequest req;
  req.url = s.url();
  TransportResult r = Transport()->Do(req, sink);
  EXPECT_EQ(r.failure, TransportFailure::kDropped) << r.status.message();
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status.message().rfind("the connection closed early (", 0), 0u) << r.status.message();
  EXPECT_EQ(sink.bytes, 100u);
  EXPECT_EQ(r.body_bytes, 100);
}

TEST(CurlTransport, StallIsReported) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(10, 'a'), true);
  CountingSink sink;
  HttpRequest req;
  req.url = s.url();
  TransportResult r = Transport()->Do(req, sink);
  EXPECT_EQ(r.failure, TransportFailure::kStalled) << r.status.message();
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status.message(), "no data for 1s (the registry stalled)");
}

// Ctrl-C during a transfer that waits for data: the request's cancel check ends it with its
// own Status long before the (here 30 s) stall timeout would.
TEST(CurlTransport, CancelEndsATransferThatWaits) {
  OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(10, 'a'), true);
  CurlOptions o;
  o.stall_timeout = std::chrono::seconds(30);
  auto t = CurlTransport::Create(o);
  ASSERT_TRUE(t.ok());
  CountingSink sink;
  HttpRequest req;
  req.url = s.url();
  // Cancelled once the first body bytes have arrived, while the server holds the rest back.
  req.cancel = [&sink]() -> Status {
    return sink.bytes > 0 ? CancelledError("pull cancelled") : Status::OK();
  };
  TransportResult r = (*t)->Do(req, sink);
  EXPECT_EQ(r.failure, TransportFailure::kCancelled) << r.status.message();
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
  EXPECT_EQ(r.status.message(), "pull cancelled");
  EXPECT_EQ(sink.bytes, 10u);
}

TEST(CurlTransport, ACancelledRequestIsNotSent) {
  CountingSink sink;
  HttpRequest req;
  req.url = "http://127.0.0.1:1/v2/";
  req.cancel = [] { return CancelledError("build cancelled"); };
  TransportResult r = Transport()->Do(req, sink);
  EXPECT_EQ(r.failure, TransportFailure::kCancelled);
  EXPECT_EQ(r.status.message(), "build cancelled");
  EXPECT_EQ(sink.status, 0);
}

TEST(CurlTransport, PlainHttpOnAnHttpsUrl) {
  OneShotServer s("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false);
  CountingSink sink;
  HttpRequest req;
  req.url = s.url("https");
  TransportResult r = Transport()->Do(req, sink);
  EXPECT_EQ(r.failure, TransportFailure::kNotTls) << r.status.message();
}

// The server accepts one connection and answers two requests on it, then stops listening:
// the second request can only succeed over the first request's connection.
TEST(CurlTransport, ReusesTheConnection) {
  int port = 0;
  const int fd = ListenOnLoopback(&port);
  std::thread server([fd] {
    int c = ::accept(fd, nullptr, nullptr);
    ::close(fd);  // no second connection is possible
    if (c < 0) return;
    std::string in;
    char buf[4096];
    for (int answered = 0; answered < 2;) {
      size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        in.erase(0, end + 4);
        const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        (void)!::write(c, reply.data(), reply.size());
        ++answered;
        continue;
      }
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, n);
    }
    ::close(c);
  });
  auto t = Transport();
  for (int i = 0; i < 2; ++i) {
    CountingSink sink;
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/v2/";
    TransportResult r = t->Do(req, sink);
    EXPECT_TRUE(r.status.ok()) << "request " << i << ": " << r.status.message();
    EXPECT_EQ(sink.status, 200);
  }
  server.join();
}

TEST(CurlTransport, RefusedConnection) {
  int port = 0;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(fd);  // bound, never listened: nothing accepts on it
  }
  CountingSink sink;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v2/";
  TransportResult r = Transport()->Do(req, sink);
  EXPECT_EQ(r.failure, TransportFailure::kConnect);
  EXPECT_EQ(r.status.message(), "Connection refused");
}

TEST(CurlTransport, SendsRangeAndAuthorizationAndReadsHeaders) {
  OneShotServer s(
      "HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\nDocker-Content-Digest: d\r\n"
      "Www-Authenticate: Basic realm=\"a\"\r\nWWW-Authenticate: Bearer realm=\"b\"\r\n\r\nxyz",
      false);
  CountingSink sink;
  HttpRequest req;
  req.url = s.url();
  req.range_start = 5;
  const std::string v = "Bearer tok";
  auto auth = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  ASSERT_TRUE(auth.ok());
  req.authorization = &*auth;
  TransportResult r = Transport()->Do(req, sink);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.response.status, 206);
  EXPECT_EQ(sink.bytes, 3u);
  EXPECT_EQ(r.response.Header("docker-content-digest"), "d");
  EXPECT_EQ(r.response.Headers("www-authenticate").size(), 2u);
  EXPECT_NE(s.request().find("\r\nRange: bytes=5-\r\n"), std::string::npos) << s.request();
  EXPECT_NE(s.request().find("\r\nAuthorization: Bearer tok\r\n"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::registry
