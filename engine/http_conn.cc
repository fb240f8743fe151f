#include "engine/http_conn.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/unix_address.h"

namespace latchkey::engine {
namespace {

constexpr size_t kBufferSize = 64 * 1024;
constexpr size_t kMaxHeadBytes = 64 * 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<HttpConnection> HttpConnection::Connect(const std::string& address) {
  HttpConnection c;
  c.address_ = address;
  auto unreachable = [&address](const std::string& cause) {
    return UnavailableError("cannot reach Docker Engine at " + address + ": " + cause);
  };
  if (address.rfind("unix://", 0) == 0) {
    std::string path = address.substr(7);
    auto addr = base::UnixAddress(path);
    if (!addr)
      return InvalidArgumentError("Docker Engine address " + address + ": the path is too long");
    c.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!c.fd_.valid()) return unreachable(std::string("socket: ") + std::strerror(errno));
    if (::connect(c.fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
      return unreachable(std::string("connect: ") + std::strerror(errno));
    }
  } else if (address.rfind("tcp://", 0) == 0) {
    std::string hostport = address.substr(6);
    size_t colon = hostport.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size()) {
      return InvalidArgumentError("Docker Engine address " + address + ": want tcp://host:port");
    }
    std::string host = hostport.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    std::string port = hostport.substr(colon + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return unreachable(std::string("resolve ") + host + ": " + ::gai_strerror(rc));
    }
    int err = 0;
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      base::UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
      if (fd.valid() && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
        c.fd_ = std::move(fd);
        break;
      }
      err = errno;
    }
    ::freeaddrinfo(res);
    if (!c.fd_.valid()) return unreachable(std::string("connect: ") + std::strerror(err));
  } else {
    return InvalidArgumentError("Docker Engine address " + address +
                                ": want unix:///path/docker.sock or tcp://host:port");
  }
  c.buf_.resize(kBufferSize);
  return c;
}

Status HttpConnection::Broken(const std::string& what, int err) const {
  return UnavailableError("Docker Engine at " + address_ + ": " + what + ": " +
                          (err == 0 ? "connection closed" : std::strerror(err)));
}

Status HttpConnection::Malformed(const std::string& what) const {
  return DataLossError("Docker Engine at " + address_ + ": malformed response: " + what);
}

Status HttpConnection::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Broken("write", n < 0 ? errno : 0);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status HttpConnection::WriteHead(const std::string& method, const std::string& target,
                                 const std::vector<std::string>& headers, bool chunked_body) {
  std::string head =
      method + " " + target + " HTTP/1.1\r\nHost: docker\r\nUser-Agent: latchkey\r\n";
  for (const auto& h : headers) head += h + "\r\n";
  if (chunked_body) head += "Transfer-Encoding: chunked\r\n";
  head += "\r\n";
  return WriteAll(head);
}

Status HttpConnection::WriteRequest(const std::string& method, const std::string& target,
                                    const std::vector<std::string>& headers,
                                    std::string_view body) {
  std::vector<std::string> h = headers;
  if (!body.empty() || method == "POST")
    h.push_back("Content-Length: " + std::to_string(body.size()));
  LK_RETURN_IF_ERROR(WriteHead(method, target, h, false));
  return WriteAll(body);
}

Status HttpConnection::WriteChunk(std::string_view data) {
  if (data.empty()) return Status::OK();
  char size[32];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  LK_RETURN_IF_ERROR(WriteAll(std::string_view(size, static_cast<size_t>(n))));
  LK_RETURN_IF_ERROR(WriteAll(data));
  return WriteAll("\r\n");
}

Status HttpConnection::EndChunks() { return WriteAll("0\r\n\r\n"); }

Result<HttpResponseHead> HttpConnection::ReadHead() {
  // A byte at a time: whatever follows the head (a switched protocol's first bytes) stays in
  // the socket.
  std::string head;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    if (head.size() > kMaxHeadBytes) return Malformed("a response head over 64 KiB");
    char c;
    ssize_t n = ::recv(fd_.get(), &c, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Broken("reading the response", n < 0 ? errno : 0);
    head.push_back(c);
  }
  HttpResponseHead out;
  size_t eol = head.find("\r\n");
  std::string_view status_line(head.data(), eol);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    return Malformed("status line \"" + std::string(status_line) + "\"");
  }
  out.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  if (out.status < 100 || out.status > 599) {
    return Malformed("status line \"" + std::string(status_line) + "\"");
  }
  out.reason = status_line.size() > 13 ? std::string(status_line.substr(13)) : "";
  size_t pos = eol + 2;
  while (pos < head.size() - 2) {
    size_t end = head.find("\r\n", pos);
    std::string_view line(head.data() + pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      return Malformed("header line \"" + std::string(line) + "\"");
    out.headers[Lower(std::string(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  chunked_ = false;
  until_close_ = false;
  body_done_ = false;
  in_chunk_ = false;
  remaining_ = 0;
  auto te = out.headers.find("transfer-encoding");
  auto cl = out.headers.find("content-length");
  if (out.status == 101 || out.status == 204 || out.status == 304) {
    body_done_ = true;
  } else if (te != out.headers.end() && Lower(te->second).find("chunked") != std::string::npos) {
    chunked_ = true;
  } else if (cl != out.headers.end()) {
    char* endp = nullptr;
    remaining_ = std::strtoull(cl->second.c_str(), &endp, 10);
    if (endp == cl->second.c_str() || *endp != '\0')
      return Malformed("Content-Length \"" + cl->second + "\"");
    body_done_ = remaining_ == 0;
  } else {
    until_close_ = true;
  }
  return out;
}

Result<size_t> HttpConnection::Fill(int poll_ms) {
  if (buf_pos_ < buf_len_) return buf_len_ - buf_pos_;
  if (poll_ms > 0) {
    pollfd p{fd_.get(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, poll_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return DeadlineExceededError("no data");
  }
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf_.data(), buf_.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Broken("reading the response", errno);
    buf_pos_ = 0;
    buf_len_ = static_cast<size_t>(n);
    return buf_len_;
  }
}

Result<std::string> HttpConnection::ReadLine() {
  std::string line;
  for (;;) {
    LK_ASSIGN_OR_RETURN(size_t have, Fill(0));
    if (have == 0) return Broken("reading the response", 0);
    const char* start = buf_.data() + buf_pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', have));
    size_t take = nl != nullptr ? static_cast<size_t>(nl - start) + 1 : have;
    line.append(start, take);
    buf_pos_ += take;
    if (nl != nullptr) break;
    if (line.size() > 4096) return Malformed("a chunk header over 4 KiB");
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

Result<size_t> HttpConnection::ReadBody(void* out, size_t cap, int poll_ms) {
  if (body_done_ || cap == 0) return 0;
  if (chunked_ && !in_chunk_) {
    if (poll_ms > 0 && buf_pos_ == buf_len_) {
      Result<size_t> have = Fill(poll_ms);
      if (!have.ok()) return have.status();
      if (*have == 0) return Broken("reading the response", 0);
    }
    LK_ASSIGN_OR_RETURN(std::string size_line, ReadLine());
    std::string hex = size_line.substr(0, size_line.find(';'));
    char* endp = nullptr;
    unsigned long long size = std::strtoull(hex.c_str(), &endp, 16);
    if (hex.empty() || endp == hex.c_str()) return Malformed("chunk size \"" + size_line + "\"");
    if (size == 0) {
      // Trailers, then the empty line.
      for (;;) {
        LK_ASSIGN_OR_RETURN(std::string t, ReadLine());
        if (t.empty()) break;
      }
      body_done_ = true;
      return 0;
    }
    remaining_ = size;
    in_chunk_ = true;
  }
  Result<size_t> have = Fill(poll_ms);
  if (!have.ok()) return have.status();
  if (*have == 0) {
    if (until_close_) {
      body_done_ = true;
      return 0;
    }
    return Broken("reading the response", 0);
  }
  size_t take = std::min(cap, *have);
  if (!until_close_) take = static_cast<size_t>(std::min<uint64_t>(take, remaining_));
  std::memcpy(out, buf_.data() + buf_pos_, take);
  buf_pos_ += take;
  if (!until_close_) {
    remaining_ -= take;
    if (remaining_ == 0) {
      if (chunked_) {
        in_chunk_ = false;
        LK_ASSIGN_OR_RETURN(std::string crlf, ReadLine());
        if (!crlf.empty()) return Malformed("no CRLF after a chunk");
      } else {
        body_done_ = true;
      }
    }
  }
  return take;
}

Result<std::string> HttpConnection::ReadAllBody(size_t limit) {
  std::string out;
  char tmp[16 * 1024];
  for (;;) {
    LK_ASSIGN_OR_RETURN(size_t n, ReadBody(tmp, sizeof tmp));
    if (n == 0) return out;
    if (out.size() + n > limit) return Malformed("a body over " + std::to_string(limit) + " bytes");
    out.append(tmp, n);
  }
}

void HttpConnection::Shutdown() {
  if (fd_.valid()) (void)::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace latchkey::engine
