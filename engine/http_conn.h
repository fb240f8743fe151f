// HttpConnection: one HTTP/1.1 connection to Docker Engine's API socket (unix or tcp), with
// just what the Engine API needs: a request with an optional streamed (chunked) body, the
// response head, the response body as Content-Length, chunked or until-close bytes, and the
// raw socket once a "101 Switching Protocols" hands it over (POST /session).
//
// The response head is read a byte at a time, so after a 101 nothing of the next protocol has
// been read into a buffer; body reads are buffered.
//
// Errors name the Engine address: "cannot reach Docker Engine at <address>: <cause>" for a
// connection that cannot be made; "Docker Engine at <address>: <what>: <cause>" for a broken
// exchange (UNAVAILABLE), "Docker Engine at <address>: malformed response: <what>"
// (DATA_LOSS).
//
// Thread-safety: one thread writes the request body while another reads the response (the
// Engine answers /build while it reads the context); otherwise single-threaded.
// Shutdown() may be called from any thread to end a blocked read or write.
#ifndef LATCHKEY_ENGINE_HTTP_CONN_H_
#define LATCHKEY_ENGINE_HTTP_CONN_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::engine {

struct HttpResponseHead {
  int status = 0;
  std::string reason;
  // Header names lower-cased; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
};

class HttpConnection {
 public:
  // Connects to `address`: "unix:///abs/path.sock" or "tcp://host:port".
  static Result<HttpConnection> Connect(const std::string& address);

  HttpConnection(HttpConnection&&) = default;
  HttpConnection& operator=(HttpConnection&&) = default;

  // Sends the request line and headers ("Host: docker" and, with `chunked_body`,
  // "Transfer-Encoding: chunked"; `headers` are "Name: value" lines). With a `body`, it follows
  // with its Content-Length.
  Status WriteHead(const std::string& method, const std::string& target,
                   const std::vector<std::string>& headers, bool chunked_body);
  Status WriteRequest(const std::string& method, const std::string& target,
                      const std::vector<std::string>& headers, std::string_view body = {});
  // One chunk of a chunked request body; an empty `data` is skipped. EndChunks writes the
  // last chunk.
  Status WriteChunk(std::string_view data);
  Status EndChunks();

  // Reads the status line and headers.
  Result<HttpResponseHead> ReadHead();

  // Reads the next bytes of the body of the response whose head ReadHead returned (chunked,
  // Content-Length or until close); 0 at its end. `poll_ms` > 0 makes the read wait at most that
  // long and return DEADLINE_EXCEEDED "no data" when nothing arrived (the caller's chance to
  // check for Ctrl-C).
  Result<size_t> ReadBody(void* buf, size_t cap, int poll_ms = 0);
  // The whole remaining body (for small answers); refused beyond `limit` bytes.
  Result<std::string> ReadAllBody(size_t limit = 1 << 20);

  // The socket, for the protocol a 101 switched to. The connection is unusable afterwards.
  base::UniqueFd TakeSocket() { return std::move(fd_); }
  int fd() const { return fd_.get(); }

  // shutdown(SHUT_RDWR): a blocked read or write on another thread returns. Idempotent.
  void Shutdown();

  const std::string& address() const { return address_; }

 private:
  HttpConnection() = default;
  Status WriteAll(std::string_view data);
  // Fills the buffer; 0 at EOF.
  Result<size_t> Fill(int poll_ms);
  Result<std::string> ReadLine();  // for chunk sizes and trailers
  Status Broken(const std::string& what, int err) const;
  Status Malformed(const std::string& what) const;

  std::string address_;
  base::UniqueFd fd_;
  std::vector<char> buf_;
  size_t buf_pos_ = 0;
  size_t buf_len_ = 0;
  // The body being read.
  bool chunked_ = false;
  bool until_close_ = false;
  bool body_done_ = false;
  uint64_t remaining_ = 0;  // Content-Length left, or bytes left in the current chunk
  bool in_chunk_ = false;
};

}  // namespace latchkey::engine

#endif  // LATCHKEY_ENGINE_HTTP_CONN_H_
