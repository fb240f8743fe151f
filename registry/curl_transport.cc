#include "registry/curl_transport.h"

#include <curl/curl.h>
#include <sodium.h>

#include <cctype>
#include <cstring>
#include <mutex>
#include <vector>

#include "registry/curl_wiping_alloc.h"

namespace latchkey::registry {

struct CurlTransport::State {
  CurlOptions options;
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
  std::mutex pool_mu;
  std::vector<CURL*> pool;  // idle easy handles, each with its own open connections
};

namespace {

void LockCb(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  static_cast<CurlTransport::State*>(user)->locks[data].lock();
}
void UnlockCb(CURL*, curl_lock_data data, void* user) {
  static_cast<CurlTransport::State*>(user)->locks[data].unlock();
}

struct Transfer {
  BodySink* sink = nullptr;
  BodySource* upload = nullptr;
  Status upload_status;
  HttpResponse head;
  bool head_done = false;
  Status sink_status;
  int64_t body_bytes = 0;
  base::CancelCheck cancel;
  Status cancel_status;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

size_t HeaderCb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after 100 Continue or an interim one): start over.
    t->head = HttpResponse();
    size_t sp = line.find(' ');
    t->head.protocol = Trim(line.substr(0, sp));
    if (t->head.protocol == "HTTP/2.0") t->head.protocol = "HTTP/2";
    if (sp != std::string::npos) t->head.status = std::atoi(line.c_str() + sp + 1);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->head.headers.emplace(name, Trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t WriteCb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->head_done) {
    t->head_done = true;
    t->sink_status = t->sink->OnHeaders(t->head);
    if (!t->sink_status.ok()) return 0;
  }
  t->sink_status = t->sink->OnData(data, size * n);
  if (!t->sink_status.ok()) return 0;
  t->body_bytes += static_cast<int64_t>(size * n);
  return size * n;
}

size_t ReadCb(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->upload == nullptr) return 0;
  auto r = t->upload->Read(buf, size * n);
  if (!r.ok()) {
    t->upload_status = r.status();
    return CURL_READFUNC_ABORT;
  }
  return *r;
}

// libcurl's progress callback, called at least once a second while a transfer runs or waits:
// the request's cancel check.
int ProgressCb(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  t->cancel_status = t->cancel();
  return t->cancel_status.ok() ? 0 : 1;
}

// A rewind asked by libcurl (a request it sends again, e.g. after a 417): start over.
int SeekCb(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (t->upload == nullptr || offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  return t->upload->Rewind().ok() ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

// A header list node pointing into secure memory: "Authorization: <value>\0".
class SecureHeader {
 public:
  Status Init(const SecretBuffer& value) {
    static constexpr char kName[] = "Authorization: ";
    const size_t n = sizeof(kName) - 1 + value.size() + 1;
    LK_ASSIGN_OR_RETURN(buf_, SecretBuffer::Allocate(n));
    std::memcpy(buf_.mutable_data(), kName, sizeof(kName) - 1);
    std::memcpy(buf_.mutable_data() + sizeof(kName) - 1, value.data(), value.size());
    buf_.mutable_data()[n - 1] = '\0';
    buf_.Seal();
    node_.data = reinterpret_cast<char*>(const_cast<uint8_t*>(buf_.data()));
    node_.next = nullptr;
    return Status::OK();
  }
  curl_slist* node() { return &node_; }

 private:
  SecretBuffer buf_;
  curl_slist node_{};
};

}  // namespace

Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(const CurlOptions& options) {
  // libcurl's heap copies of request headers (the Authorization line) are wiped when freed.
  LK_RETURN_IF_ERROR(InitCurlWithWipingAllocator());
  auto st = std::make_unique<State>();
  st->options = options;
  st->share = curl_share_init();
  if (st->share == nullptr) return InternalError("libcurl: cannot create a share handle");
  curl_share_setopt(st->share, CURLSHOPT_LOCKFUNC, LockCb);
  curl_share_setopt(st->share, CURLSHOPT_UNLOCKFUNC, UnlockCb);
  curl_share_setopt(st->share, CURLSHOPT_USERDATA, st.get());
  curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  // Not CURL_LOCK_DATA_CONNECT: libcurl does not support a connection cache shared by
  // concurrent threads. Each pooled easy handle keeps its own connections instead, and the
  // next request that takes the handle reuses them.
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(st)));
}

CurlTransport::CurlTransport(std::unique_ptr<State> state) : state_(std::move(state)) {}

CurlTransport::~CurlTransport() {
  for (CURL* c : state_->pool) curl_easy_cleanup(c);
  if (state_->share) curl_share_cleanup(state_->share);
}

TransportResult CurlTransport::Do(const HttpRequest& req, BodySink& sink) {
  TransportResult out;
  if (Status st = base::PollCancel(req.cancel); !st.ok()) {
    out.status = st;
    out.failure = TransportFailure::kCancelled;
    return out;
  }
  const std::string host = UrlHostPort(req.url);
  CURL* c = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->pool_mu);
    if (!state_->pool.empty()) {
      c = state_->pool.back();
      state_->pool.pop_back();
    }
  }
  if (c == nullptr) c = curl_easy_init();
  if (c == nullptr) {
    out.status = InternalError("libcurl: cannot create a request handle");
    out.failure = TransportFailure::kOther;
    return out;
  }
  curl_easy_reset(c);
  Transfer t;
  t.sink = &sink;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const CurlOptions& o = state_->options;
  curl_easy_setopt(c, CURLOPT_SHARE, state_->share);
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L << 10);  // fewer, larger writes into the store
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (req.cancel) {
    t.cancel = req.cancel;
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, ProgressCb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!req.ca_file.empty()) {
    // The CA file plus the system store (OpenSSL reads both).
    curl_easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (!req.client_cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, req.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, req.client_key.c_str());
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || req.method == "PATCH") {
    if (req.upload != nullptr) {
      Status rw = req.upload->Rewind();
      if (!rw.ok()) {
        std::lock_guard<std::mutex> lock(state_->pool_mu);
        state_->pool.push_back(c);
        out.status = rw;
        out.failure = TransportFailure::kOther;
        return out;
      }
    }
    t.upload = req.upload;
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadCb);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, SeekCb);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(req.upload ? req.upload->size() : 0));
    if (req.method == "PATCH") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body ? req.body->size() : 0));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                     req.body ? reinterpret_cast<const char*>(req.body->data()) : "");
  }
  std::string range;
  if (req.range_start >= 0) {
    range = std::to_string(req.range_start) + "-";
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  SecureHeader auth;
  curl_slist* list = headers;
  if (req.authorization != nullptr) {
    out.status = auth.Init(*req.authorization);
    if (!out.status.ok()) {
      curl_slist_free_all(headers);
      std::lock_guard<std::mutex> lock(state_->pool_mu);
      state_->pool.push_back(c);
      out.failure = TransportFailure::kOther;
      return out;
    }
    auth.node()->next = headers;
    list = auth.node();
  }
  if (list) curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

  CURLcode rc = curl_easy_perform(c);
  long os_errno = 0;
  curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, nullptr);
  curl_slist_free_all(headers);
  out.body_bytes = t.body_bytes;
  out.response = t.head;
  if (rc == CURLE_OK && !t.head_done) {
    // No body (HEAD, 204, an empty 401): the sink still sees the headers.
    t.head_done = true;
    t.sink_status = sink.OnHeaders(t.head);
    if (!t.sink_status.ok()) {
      out.status = t.sink_status;
      out.failure = TransportFailure::kSink;
    }
  }
  {
    std::lock_guard<std::mutex> lock(state_->pool_mu);
    state_->pool.push_back(c);
  }
  if (rc == CURLE_OK) return out;
  std::string detail = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_READ_ERROR:
      if (!t.cancel_status.ok()) {
        out.status = t.cancel_status;
        out.failure = TransportFailure::kCancelled;
        return out;
      }
      if (!t.upload_status.ok()) {
        out.status = t.upload_status;
        out.failure = TransportFailure::kOther;
        return out;
      }
      out.failure = TransportFailure::kOther;
      out.status = UnavailableError(host + ": " + detail);
      return out;
    case CURLE_WRITE_ERROR:
      if (!t.sink_status.ok()) {
        out.status = t.sink_status;
        out.failure = TransportFailure::kSink;
        return out;
      }
      out.failure = TransportFailure::kOther;
      out.status = UnavailableError(host + ": " + detail);
      return out;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      out.failure = TransportFailure::kConnect;
      out.status = UnavailableError(rc == CURLE_COULDNT_CONNECT && os_errno != 0
                                        ? std::string(std::strerror(static_cast<int>(os_errno)))
                                        : (rc == CURLE_COULDNT_CONNECT
                                               ? std::string("cannot connect")
                                               : std::string("cannot resolve host")));
      return out;
    case CURLE_OPERATION_TIMEDOUT:
      out.failure = t.head.status == 0 && t.body_bytes == 0 && !t.head_done
                        ? TransportFailure::kConnect
                        : TransportFailure::kStalled;
      if (out.failure == TransportFailure::kConnect) {
        out.status = UnavailableError("connection timed out");
      } else {
        out.status = DeadlineExceededError(
            "no data for " + std::to_string(o.stall_timeout.count()) + "s (the registry stalled)");
      }
      return out;
    default:
      break;
  }
  // The server's alert about our client certificate: under TLS 1.3 it arrives after the
  // handshake, on the first read.
  if (std::strstr(errbuf, "alert bad certificate") != nullptr ||
      std::strstr(errbuf, "alert certificate required") != nullptr) {
    out.failure = TransportFailure::kClientCert;
    out.status = FailedPreconditionError(detail);
    return out;
  }
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      out.failure = TransportFailure::kTls;
      out.status = FailedPreconditionError(detail);
      return out;
    case CURLE_SSL_CONNECT_ERROR:
      // An https:// URL that reached a plain HTTP server fails its handshake with OpenSSL's
      // "wrong version number".
      out.failure = std::strstr(errbuf, "wrong version number") != nullptr
                        ? TransportFailure::kNotTls
                        : TransportFailure::kTls;
      out.status = FailedPreconditionError(detail);
      return out;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_ERROR:
      out.failure = TransportFailure::kDropped;
      out.status = UnavailableError("the connection closed early (" + detail + ")");
      return out;
    default:
      out.failure = TransportFailure::kOther;
      out.status = UnavailableError(detail);
      return out;
  }
}

}  // namespace latchkey::registry
