// EngineClient and HttpConnection against a scripted HTTP server on a unix socket (the real
// Engine is exercised by tests/docker/docker_builder_test.sh).
#include "engine/engine_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "base/unix_address.h"

namespace latchkey::engine {
namespace {

// Answers each accepted connection with the next canned response and records its request
// head.
class ScriptedEngine {
 public:
  static constexpr char kHold[] = "<hold>";
  explicit ScriptedEngine(std::vector<std::string> responses) : responses_(std::move(responses)) {
    char tmpl[] = "/tmp/lk-engine-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/docker.sock";
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto addr = base::UnixAddress(path_);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)), 0);
    EXPECT_EQ(::listen(fd_.get(), 8), 0);
    thread_ = std::thread([this] {
      for (const auto& r : responses_) {
        base::UniqueFd c(::accept(fd_.get(), nullptr, nullptr));
        if (!c.valid()) return;
        std::string head;
        char ch;
        while (head.find("\r\n\r\n") == std::string::npos && ::read(c.get(), &ch, 1) == 1) {
          head.push_back(ch);
        }
        requests_.push_back(head);
        if (r == kHold) {
          // Keeps the connection open, answering nothing, until the client closes it.
          while (::read(c.get(), &ch, 1) > 0) {
          }
          continue;
        }
        (void)!::write(c.get(), r.data(), r.size());
      }
    });
  }
  ~ScriptedEngine() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string address() const { return "unix://" + path_; }
  const std::vector<std::string>& requests() { return requests_; }

 private:
  std::vector<std::string> responses_;
  std::string dir_, path_;
  base::UniqueFd fd_;
  std::thread thread_;
  std::vector<std::string> requests_;
};

std::string Json200(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpConnection, UnreachableEngineNamesTheAddressAndTheCause) {
  auto c = HttpConnection::Connect("unix:///nonexistent-lk/docker.sock");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "cannot reach Docker Engine at unix:///nonexistent-lk/docker.sock: connect: No such "
            "file or directory");
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
}

TEST(HttpConnection, RefusesAnAddressOfAnotherScheme) {
  auto c = HttpConnection::Connect("https://example.com");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "Docker Engine address https://example.com: want unix:///path/docker.sock or "
            "tcp://host:port");
}

TEST(HttpConnection, ReadsAChunkedBodyAcrossChunks) {
  ScriptedEngine engine(
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"});
  auto c = HttpConnection::Connect(engine.address());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->WriteRequest("GET", "/x", {}).ok());
  auto head = c->ReadHead();
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.at("transfer-encoding"), "chunked");
  auto body = c->ReadAllBody();
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(*body, "hello, world");
}

TEST(HttpConnection, ABadChunkSizeIsMalformed) {
  ScriptedEngine engine({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"});
  auto c = HttpConnection::Connect(engine.address());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->WriteRequest("GET", "/x", {}).ok());
  ASSERT_TRUE(c->ReadHead().ok());
  auto body = c->ReadAllBody();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().message(),
            "Docker Engine at " + engine.address() + ": malformed response: chunk size \"zz\"");
}

TEST(HttpConnection, ATruncatedBodyIsAnError) {
  ScriptedEngine engine({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"});
  auto c = HttpConnection::Connect(engine.address());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->WriteRequest("GET", "/x", {}).ok());
  ASSERT_TRUE(c->ReadHead().ok());
  auto body = c->ReadAllBody();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().message(),
            "Docker Engine at " + engine.address() + ": reading the response: connection closed");
}

TEST(EngineClient, NegotiatesTheApiVersion) {
  ScriptedEngine engine({Json200(R"({"Version":"20.10.24","ApiVersion":"1.40","Os":"linux"})")});
  EngineClient client(engine.address());
  auto v = client.Negotiate();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->version, "20.10.24");
  EXPECT_EQ(client.api_prefix(), "/v1.40");
  EXPECT_EQ(engine.requests().at(0).substr(0, 21), "GET /version HTTP/1.1");
}

TEST(EngineClient, ANewerEngineIsSpokenToAtOurNewestApi) {
  ScriptedEngine engine({Json200(R"({"Version":"27.0.1","ApiVersion":"1.46","Os":"linux"})")});
  EngineClient client(engine.address());
  ASSERT_TRUE(client.Negotiate().ok());
  EXPECT_EQ(client.api_prefix(), "/v1.41");
}

TEST(EngineClient, RefusesAnEngineTooOldForBuildKit) {
  ScriptedEngine engine({Json200(R"({"Version":"17.12.1","ApiVersion":"1.35","Os":"linux"})")});
  EngineClient client(engine.address());
  auto v = client.Negotiate();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "Docker Engine at " + engine.address() +
                " speaks API 1.35 (Docker 17.12.1); BuildKit builds need API 1.39 or later "
                "(Docker 18.09 or later)");
}

TEST(EngineClient, RefusesAWindowsEngine) {
  ScriptedEngine engine({Json200(R"({"Version":"20.10.9","ApiVersion":"1.41","Os":"windows"})")});
  EngineClient client(engine.address());
  auto v = client.Negotiate();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "Docker Engine at " + engine.address() +
                                      ": BuildKit builds need a Linux engine (this one is "
                                      "windows)");
}

TEST(EngineClient, AnErrorAnswerCarriesTheEnginesMessage) {
  std::string body = R"({"message":"No such image: sha256:abc"})";
  ScriptedEngine engine({"HTTP/1.1 404 Not Found\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body});
  EngineClient client(engine.address());
  Status st = client.RemoveImage("sha256:abc");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "Docker Engine at " + engine.address() +
                              ": DELETE /images/sha256:abc: No such image: sha256:abc (HTTP 404)");
  EXPECT_NE(engine.requests().at(0).find("DELETE /v1.41/images/sha256:abc?force=1 HTTP/1.1"),
            std::string::npos);
}

TEST(EngineClient, BuildStreamsMessagesAndReportsTheBuildError) {
  std::string stream =
      "{\"id\":\"moby.buildkit.trace\",\"aux\":\"CgA=\"}\r\n"
      "{\"stream\":\"hello\\n\"}\n"
      "{\"errorDetail\":{\"message\":\"failed to solve: x\"},\"error\":\"failed to solve: x\"}\n";
  ScriptedEngine engine({"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(stream.size()) +
                         "\r\n\r\n" + stream});
  EngineClient client(engine.address());
  std::vector<std::string> seen;
  Status st = client.Build(
      {{"version", "2"}, {"t", "a b"}}, [](HttpConnection& conn) { return conn.WriteChunk("tar"); },
      [&](const EngineMessage& m) {
        seen.push_back(m.id + "|" + m.stream + "|" + m.error);
        return Status::OK();
      },
      [] { return false; });
  EXPECT_EQ(st.code(), StatusCode::kUnknown);
  EXPECT_EQ(st.message(), "failed to solve: x");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "moby.buildkit.trace||");
  EXPECT_EQ(seen[1], "|hello\n|");
  EXPECT_EQ(seen[2], "||failed to solve: x");
  EXPECT_NE(engine.requests().at(0).find("POST /v1.41/build?version=2&t=a%20b HTTP/1.1"),
            std::string::npos);
  EXPECT_NE(engine.requests().at(0).find("Transfer-Encoding: chunked"), std::string::npos);
}

TEST(EngineClient, CancelledBuildEndsTheCall) {
  // The server never answers; the cancel check ends the call.
  ScriptedEngine engine({ScriptedEngine::kHold});
  EngineClient client(engine.address());
  int polls = 0;
  Status st = client.Build(
      {}, [](HttpConnection&) { return Status::OK(); },
      [](const EngineMessage&) { return Status::OK(); }, [&] { return ++polls > 2; });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(st.message(), "build cancelled");
}

TEST(EngineMessage, NotJsonIsDataLoss) {
  auto m = ParseEngineMessage("{oops");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "Docker Engine sent a build message that is not a JSON object: \"{oops\"");
}

TEST(EncodeQuery, PercentEncodesKeysAndValues) {
  EXPECT_EQ(EncodeQuery({{"buildargs", R"({"A":"1 2"})"}, {"t", "reg:5000/app:1"}}),
            "buildargs=%7B%22A%22%3A%221%202%22%7D&t=reg%3A5000%2Fapp%3A1");
}

}  // namespace
}  // namespace latchkey::engine
