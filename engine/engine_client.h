// EngineClient: the few Docker Engine API calls `latchkey build --builder docker` makes
// (docs/docker-builder.md), each on a connection of its own (HttpConnection):
//   GET /version                 Negotiate: the API version to speak (at most kMaxApiVersion)
//   POST /build?version=2&...    Build: BuildKit runs the build; the answer is a stream of JSON
//                                messages (ParseEngineMessage)
//   GET /images/<id>/get         OpenImageSave: the image as a `docker save` tar stream
//   DELETE /images/<id>          RemoveImage
//   POST /session (upgrade)      engine_session.h
// An answer with an error status is "Docker Engine at <address>: <call>: <the Engine's
// message> (HTTP <status>)", with the code the status implies (404 NOT_FOUND, 400
// INVALID_ARGUMENT, 409 FAILED_PRECONDITION, else UNKNOWN).
//
// Thread-safety: Negotiate first; then calls may run concurrently (each has its connection).
#ifndef LATCHKEY_ENGINE_ENGINE_CLIENT_H_
#define LATCHKEY_ENGINE_ENGINE_CLIENT_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/http_conn.h"
#include "latchkey/status.h"

namespace latchkey::engine {

// The newest API latchkey speaks; the oldest with BuildKit's session and POST /build?version=2.
inline constexpr char kMaxApiVersion[] = "1.41";
inline constexpr char kMinApiVersion[] = "1.39";

struct EngineVersion {
  std::string version;      // "20.10.24+dfsg1"
  std::string api_version;  // the server's newest: "1.41"
  std::string os;           // "linux"
};

// One message of the JSON stream POST /build answers with.
struct EngineMessage {
  std::string stream;  // {"stream": "..."}: text output
  std::string error;   // {"error": "...", "errorDetail": {...}}: the build failed
  std::string id;      // {"id": "moby.buildkit.trace", "aux": ...}
  nlohmann::json aux;  // null when absent
};

// Parses one line of the stream. DATA_LOSS "Docker Engine sent a build message that is not
// JSON: <parser's message>".
Result<EngineMessage> ParseEngineMessage(std::string_view line);

// "a=b&c=d" with every key and value percent-encoded (RFC 3986 unreserved kept).
std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& query);

class EngineClient {
 public:
  // `address`: "unix:///path/docker.sock" or "tcp://host:port". Connects lazily.
  explicit EngineClient(std::string address) : address_(std::move(address)) {}

  // GET /version. Errors: HttpConnection::Connect's ("cannot reach Docker Engine at ..."), and
  // FAILED_PRECONDITION "Docker Engine at <address> speaks API <v> (Docker <version>); BuildKit
  // builds need API 1.39 or later (Docker 18.09 or later)", or for a non-Linux engine "...:
  // BuildKit builds need a Linux engine (this one is <os>)".
  Result<EngineVersion> Negotiate();

  // POST /<api>/build?<query> with a chunked body produced by `write_body` (run on a thread of
  // its own while the answer is read) and each JSON message handed to `on_message` in order.
  // `cancelled` is polled about every 100 ms; once it returns true the connection is closed
  // (the Engine cancels the build) and CANCELLED "build cancelled" is returned. Returns OK when
  // the stream ended without an error message; the error message's text (UNKNOWN) when it had
  // one; an on_message error as is.
  Status Build(const std::vector<std::pair<std::string, std::string>>& query,
               const std::function<Status(HttpConnection&)>& write_body,
               const std::function<Status(const EngineMessage&)>& on_message,
               const std::function<bool()>& cancelled);

  // GET /<api>/images/<id>/get: a connection positioned at the start of the tar body; read it
  // with ReadBody.
  Result<HttpConnection> OpenImageSave(const std::string& id);

  // DELETE /<api>/images/<id>?force=1: removes the image and its tags.
  Status RemoveImage(const std::string& id);

  const std::string& address() const { return address_; }
  // "/v1.41" once negotiated.
  const std::string& api_prefix() const { return api_prefix_; }

 private:
  // Opens a connection, sends the request and reads the head; an error status becomes the
  // Status described in the file comment.
  Result<HttpConnection> Call(const std::string& method, const std::string& target,
                              const std::string& what);
  Status ErrorAnswer(HttpConnection& conn, const HttpResponseHead& head,
                     const std::string& what) const;

  std::string address_;
  std::string api_prefix_ = std::string("/v") + kMaxApiVersion;
};

}  // namespace latchkey::engine

#endif  // LATCHKEY_ENGINE_ENGINE_CLIENT_H_
