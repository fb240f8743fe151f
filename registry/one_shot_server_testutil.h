// OneShotServer: a raw TCP server on 127.0.0.1 for CurlTransport tests. It accepts one
// connection, reads the request head (or a TLS ClientHello), answers with a canned reply and
// records what it received. Test-only; one object per test, joined in the destructor.
#ifndef LATCHKEY_REGISTRY_ONE_SHOT_SERVER_TESTUTIL_H_
#define LATCHKEY_REGISTRY_ONE_SHOT_SERVER_TESTUTIL_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace latchkey::registry {

// A TCP socket listening on 127.0.0.1 at a port the kernel picked (`*port`), backlog 1; the
// test fails when it cannot be made.
inline int ListenOnLoopback(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// Accepts one connection, reads the request head, and answers with `reply`; with `hold`, keeps
// the connection open (sending nothing more) until the client closes it.
class OneShotServer {
 public:
  OneShotServer(std::string reply, bool hold) {
    fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this, reply, hold] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, n);
        if (!request_.empty() && request_[0] == 0x16) break;  // a TLS ClientHello
      }
      (void)!::write(c, reply.data(), reply.size());
      if (hold) {
        while (::read(c, buf, sizeof buf) > 0) {
        }
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/v2/x/blobs/sha256:0";
  }
  // The request as received (valid after the transfer).
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_ONE_SHOT_SERVER_TESTUTIL_H_
