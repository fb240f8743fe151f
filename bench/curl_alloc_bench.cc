// The cost of libcurl's wiping allocator (registry/curl_wiping_alloc.h): 100 MiB blob GETs and
// 2 KiB (manifest-sized) GETs, with an Authorization header, through CurlTransport from a server
// on 127.0.0.1, with the wiping allocator (the default: what
// latchkey runs) or, with --plain, with libc's (libcurl initialised by curl_global_init before
// CurlTransport, so its curl_global_init_mem is a no-op). Run both in one session, alternated:
//
//   cmake --build BUILD --target curl_alloc_bench
//   for i in 1 2 3; do BUILD/bench/curl_alloc_bench --plain; BUILD/bench/curl_alloc_bench; done
//
// Counters: bytes_per_second (body bytes), and blocks wiped per GET in the wiping mode. The
// 100 MiB figure is bounded by loopback and the sink, the 2 KiB one by libcurl's per-request
// work, where the allocator's share shows most.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "registry/curl_transport.h"
#include "registry/curl_wiping_alloc.h"

namespace latchkey::registry {
namespace {

constexpr size_t kBlobBytes = size_t{100} << 20;

bool plain_mode = false;

// Serves every request on every connection (HTTP/1.1 keep-alive) with as many body bytes as its
// path says ("GET /2048").
class BlobServer {
 public:
  BlobServer() : chunk_(size_t{1} << 20, 'b') {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) {
      std::perror("bench server");
      std::exit(1);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
    thread_.detach();  // ends with the process
  }
  // A GET of `bytes` body bytes.
  std::string url(size_t bytes) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(bytes);
  }

 private:
  void Serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      int one = 1;  // no Nagle wait between the head and a small body
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::string head;
      char buf[4096];
      for (;;) {
        size_t end;
        while ((end = head.find("\r\n\r\n")) == std::string::npos) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          head.append(buf, static_cast<size_t>(n));
        }
        if (end == std::string::npos) break;
        // "GET /<bytes> ": that many body bytes.
        const size_t size = std::strtoull(head.c_str() + 5, nullptr, 10);
        head.erase(0, end + 4);
        std::string reply =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
        if (!WriteAll(c, reply.data(), reply.size())) break;
        bool ok = true;
        for (size_t sent = 0; ok && sent < size; sent += chunk_.size()) {
          ok = WriteAll(c, chunk_.data(), std::min(chunk_.size(), size - sent));
        }
        if (!ok) break;
      }
      ::close(c);
    }
  }
  static bool WriteAll(int fd, const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  int fd_ = -1;
  int port_ = 0;
  std::vector<char> chunk_;
  std::thread thread_;
};

class DiscardSink : public BodySink {
 public:
  Status OnHeaders(const HttpResponse&) override { return Status::OK(); }
  Status OnData(const char*, size_t n) override {
    bytes += n;
    return Status::OK();
  }
  size_t bytes = 0;
};

// One GET of state.range(0) body bytes per iteration, on a kept connection.
void BM_Get(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  static BlobServer server;
  auto transport = CurlTransport::Create();
  if (!transport.ok()) {
    state.SkipWithError(transport.status().ToString().c_str());
    return;
  }
  const std::string token = "Bearer bench-token-0123456789abcdef";
  auto auth = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(token.data()), token.size()});
  if (!auth.ok()) {
    state.SkipWithError("secure memory");
    return;
  }
  HttpRequest req;
  req.url = server.url(body_bytes);
  req.authorization = &*auth;
  const uint64_t wiped_before = WipedBlockCount();
  int64_t bytes = 0;
  for (auto _ : state) {
    DiscardSink sink;
    TransportResult r = (*transport)->Do(req, sink);
    if (!r.status.ok() || sink.bytes != body_bytes) {
      state.SkipWithError(("GET failed: " + r.status.ToString()).c_str());
      return;
    }
    bytes += static_cast<int64_t>(sink.bytes);
  }
  state.SetBytesProcessed(bytes);
  state.counters["wiped_blocks_per_get"] =
      benchmark::Counter(static_cast<double>(WipedBlockCount() - wiped_before) /
                         static_cast<double>(state.iterations()));
  state.SetLabel(plain_mode ? "libc allocator" : "wiping allocator");
}
// A 100 MiB blob, and a manifest-sized answer (where a per-request cost would show).
BENCHMARK(BM_Get)->Arg(kBlobBytes)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(10);
BENCHMARK(BM_Get)->Arg(2048)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(2000);

}  // namespace
}  // namespace latchkey::registry

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--plain") == 0) {
      latchkey::registry::plain_mode = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  // --plain: libcurl is initialised with libc's allocator first; CurlTransport's own
  // curl_global_init_mem then changes nothing (libcurl's rule: the first initialisation wins).
  if (latchkey::registry::plain_mode && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
