#include "engine/engine_client.h"

#include <poll.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace latchkey::engine {
namespace {

// "1.41" -> {1, 41}; {0, 0} when unparsable.
std::pair<int, int> ApiNumber(const std::string& v) {
  int major = 0, minor = 0;
  if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return {0, 0};
  return {major, minor};
}

}  // namespace

Result<EngineMessage> ParseEngineMessage(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return DataLossError("Docker Engine sent a build message that is not a JSON object: \"" +
                         std::string(line.substr(0, 80)) + "\"");
  }
  EngineMessage m;
  if (auto it = j.find("stream"); it != j.end() && it->is_string()) m.stream = *it;
  if (auto it = j.find("error"); it != j.end() && it->is_string()) m.error = *it;
  if (m.error.empty()) {
    if (auto it = j.find("errorDetail"); it != j.end() && it->is_object()) {
      m.error = it->value("message", "");
    }
  }
  if (auto it = j.find("id"); it != j.end() && it->is_string()) m.id = *it;
  if (auto it = j.find("aux"); it != j.end()) m.aux = *it;
  return m;
}

std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  auto enc = [](const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        out += hex;
      }
    }
    return out;
  };
  std::string out;
  for (const auto& [k, v] : query) {
    if (!out.empty()) out.push_back('&');
    out += enc(k) + "=" + enc(v);
  }
  return out;
}

Status EngineClient::ErrorAnswer(HttpConnection& conn, const HttpResponseHead& head,
                                 const std::string& what) const {
  Result<std::string> body = conn.ReadAllBody(64 * 1024);
  std::string message;
  if (body.ok()) {
    nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      message = j["message"];
    } else {
      message = *body;
      while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
        message.pop_back();
      }
    }
  }
  if (message.empty()) message = head.reason;
  StatusCode code = head.status == 404   ? StatusCode::kNotFound
                    : head.status == 400 ? StatusCode::kInvalidArgument
                    : head.status == 409 ? StatusCode::kFailedPrecondition
                                         : StatusCode::kUnknown;
  return Status(code, "Docker Engine at " + address_ + ": " + what + ": " + message + " (HTTP " +
                          std::to_string(head.status) + ")");
}

Result<HttpConnection> EngineClient::Call(const std::string& method, const std::string& target,
                                          const std::string& what) {
  LK_ASSIGN_OR_RETURN(HttpConnection conn, HttpConnection::Connect(address_));
  LK_RETURN_IF_ERROR(conn.WriteRequest(method, target, {}));
  LK_ASSIGN_OR_RETURN(HttpResponseHead head, conn.ReadHead());
  if (head.status / 100 != 2) return ErrorAnswer(conn, head, what);
  return conn;
}

Result<EngineVersion> EngineClient::Negotiate() {
  LK_ASSIGN_OR_RETURN(HttpConnection conn, Call("GET", "/version", "GET /version"));
  LK_ASSIGN_OR_RETURN(std::string body, conn.ReadAllBody());
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return DataLossError("Docker Engine at " + address_ + ": GET /version: the answer is not JSON");
  }
  EngineVersion v;
  v.version = j.value("Version", "");
  v.api_version = j.value("ApiVersion", "");
  v.os = j.value("Os", "");
  if (!v.os.empty() && v.os != "linux") {
    return FailedPreconditionError("Docker Engine at " + address_ +
                                   ": BuildKit builds need a Linux engine (this one is " + v.os +
                                   ")");
  }
  auto server = ApiNumber(v.api_version);
  if (server < ApiNumber(kMinApiVersion)) {
    return FailedPreconditionError("Docker Engine at " + address_ + " speaks API " +
                                   (v.api_version.empty() ? "?" : v.api_version) + " (Docker " +
                                   (v.version.empty() ? "?" : v.version) +
                                   "); BuildKit builds need API 1.39 or later (Docker 18.09 or "
                                   "later)");
  }
  api_prefix_ =
      "/v" + (server < ApiNumber(kMaxApiVersion) ? v.api_version : std::string(kMaxApiVersion));
  return v;
}

Status EngineClient::Build(const std::vector<std::pair<std::string, std::string>>& query,
                           const std::function<Status(HttpConnection&)>& write_body,
                           const std::function<Status(const EngineMessage&)>& on_message,
                           const std::function<bool()>& cancelled) {
  LK_ASSIGN_OR_RETURN(HttpConnection conn, HttpConnection::Connect(address_));
  LK_RETURN_IF_ERROR(conn.WriteHead("POST", api_prefix_ + "/build?" + EncodeQuery(query),
                                    {"Content-Type: application/x-tar"}, /*chunked_body=*/true));
  // The Engine reads the context while it answers: the body is written on its own thread.
  Status body_status;
  std::atomic<bool> body_done{false};
  std::thread writer([&] {
    body_status = write_body(conn);
    if (body_status.ok()) body_status = conn.EndChunks();
    body_done = true;
  });
  auto finish = [&](Status st) {
    conn.Shutdown();
    writer.join();
    return st;
  };
  Result<HttpResponseHead> head = [&]() -> Result<HttpResponseHead> {
    // The head comes once the Engine has started the build (or refused it); wait for it while
    // watching for Ctrl-C.
    for (;;) {
      if (cancelled()) return CancelledError("build cancelled");
      pollfd p{conn.fd(), POLLIN, 0};
      int rc = ::poll(&p, 1, 100);
      if (rc > 0) return conn.ReadHead();
    }
  }();
  if (!head.ok()) {
    // A broken body (the context) explains a connection the Engine dropped.
    Status st = head.status();
    conn.Shutdown();
    writer.join();
    if (!body_status.ok() && st.code() != StatusCode::kCancelled) return body_status;
    return st;
  }
  if (head->status / 100 != 2) {
    Status st = ErrorAnswer(conn, *head, "POST /build");
    return finish(st);
  }
  std::string pending;
  std::string build_error;
  char buf[32 * 1024];
  for (;;) {
    if (cancelled()) return finish(CancelledError("build cancelled"));
    Result<size_t> n = conn.ReadBody(buf, sizeof buf, /*poll_ms=*/100);
    if (!n.ok() && n.status().code() == StatusCode::kDeadlineExceeded) continue;
    if (!n.ok()) return finish(n.status());
    if (*n == 0) break;
    pending.append(buf, *n);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (line.empty() || line == "\r") continue;
      Result<EngineMessage> m = ParseEngineMessage(line);
      if (!m.ok()) return finish(m.status());
      if (!m->error.empty() && build_error.empty()) build_error = m->error;
      if (Status st = on_message(*m); !st.ok()) return finish(st);
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) {
    Result<EngineMessage> m = ParseEngineMessage(pending);
    if (!m.ok()) return finish(m.status());
    if (!m->error.empty() && build_error.empty()) build_error = m->error;
    if (Status st = on_message(*m); !st.ok()) return finish(st);
  }
  // A body write that failed once the Engine had answered in full does not matter: the
  // build's outcome is in the messages.
  return finish(build_error.empty() ? Status::OK() : UnknownError(build_error));
}

Result<HttpConnection> EngineClient::OpenImageSave(const std::string& id) {
  return Call("GET", api_prefix_ + "/images/" + id + "/get", "GET /images/" + id + "/get");
}

Status EngineClient::RemoveImage(const std::string& id) {
  LK_ASSIGN_OR_RETURN(
      HttpConnection conn,
      Call("DELETE", api_prefix_ + "/images/" + id + "?force=1", "DELETE /images/" + id));
  (void)conn.ReadAllBody();
  return Status::OK();
}

}  // namespace latchkey::engine
