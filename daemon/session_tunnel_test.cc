// The session tunnel end to end in one process, over a real unix socket: the C++ client library
// (session/session_client.h, session/secrets_service.h) serves Secrets on the tunnel, the daemon
// side (control_service.h, session_manager.h) calls GetSecret through it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "daemon/daemon_testutil.h"
#include "session/metadata.h"
#include "session/secrets_service.h"
#include "session/session_client.h"

namespace latchkey::daemon {
namespace {

using session::SecretsService;
using session::SessionClient;

constexpr char kSecretsName[] = "moby.buildkit.secrets.v1.Secrets";

std::shared_ptr<const SecretBuffer> Value(std::string_view v) {
  auto b = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

std::string AsText(const SecretBuffer& b) {  // test canaries only
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::unique_ptr<SessionClient> OpenSession(TestDaemon& d, const std::string& id,
                                           grpc::Service* secrets) {
  auto c = SessionClient::Open(d.Connect(), {id, "ctx", "key"}, {{secrets, kSecretsName}});
  if (!c.ok()) return nullptr;
  if (!d.sessions().WaitFor(id, TestDaemon::In(10))) return nullptr;
  return std::move(*c);
}

TEST(SessionTunnel, GetSecretRoundTrip) {
  TestDaemon d;
  SecretsService secrets;
  ASSERT_TRUE(secrets.Add("npmrc", Value("CANARY-npmrc-7f3a")).ok());
  auto client = OpenSession(d, "s1", &secrets);
  ASSERT_NE(client, nullptr);

  auto v = d.sessions().GetSecret("s1", "npmrc", TestDaemon::In(10));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(AsText(*v), "CANARY-npmrc-7f3a");
  EXPECT_TRUE(v->sealed());
  EXPECT_EQ(secrets.served(), 1u);

  auto list = d.sessions().List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "s1");
  EXPECT_EQ(list[0].name, "ctx");
  EXPECT_EQ(list[0].shared_key, "key");
  EXPECT_EQ(list[0].methods,
            std::vector<std::string>{"/moby.buildkit.secrets.v1.Secrets/GetSecret"});
  ASSERT_TRUE(list[0].peer.has_value());
  EXPECT_EQ(list[0].peer->pid, ::getpid());
  EXPECT_EQ(list[0].peer->uid, ::geteuid());
}

TEST(SessionTunnel, EmptyValueRoundTrips) {
  TestDaemon d;
  SecretsService secrets;
  ASSERT_TRUE(secrets.Add("empty", Value("")).ok());
  auto client = OpenSession(d, "s1", &secrets);
  ASSERT_NE(client, nullptr);
  auto v = d.sessions().GetSecret("s1", "empty", TestDaemon::In(10));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->size(), 0u);
}

TEST(SessionTunnel, UnknownSecretIsNotFound) {
  TestDaemon d;
  SecretsService secrets;
  auto client = OpenSession(d, "s1", &secrets);
  ASSERT_NE(client, nullptr);
  auto v = d.sessions().GetSecret("s1", "nosuch", TestDaemon::In(10));
  EXPECT_EQ(v.status(), NotFoundError("secret nosuch: not found"));
}

TEST(SessionTunnel, ClientWithoutSecretsServiceIsNotFound) {
  TestDaemon d;
  auto c = SessionClient::Open(d.Connect(), {"bare", "", ""}, {});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(d.sessions().WaitFor("bare", TestDaemon::In(10)));
  auto v = d.sessions().GetSecret("bare", "npmrc", TestDaemon::In(10));
  EXPECT_EQ(v.status(), NotFoundError("secret npmrc: not found"));
}

TEST(SessionTunnel, UnknownSessionIsNotFound) {
  TestDaemon d;
  auto v = d.sessions().GetSecret("nosession", "npmrc", TestDaemon::In(10));
  EXPECT_EQ(v.status(), NotFoundError("no active session for nosession"));
}

TEST(SessionTunnel, DuplicateSessionIdIsRefused) {
  TestDaemon d;
  SecretsService secrets;
  auto first = OpenSession(d, "dup", &secrets);
  ASSERT_NE(first, nullptr);
  auto second = SessionClient::Open(d.Connect(), {"dup", "", ""}, {{&secrets, kSecretsName}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->Wait(),
            AlreadyExistsError("session dup: ALREADY_EXISTS: session dup already exists"));
  // The first session is untouched.
  EXPECT_EQ(d.sessions().GetSecret("dup", "x", TestDaemon::In(10)).status(),
            NotFoundError("secret x: not found"));
}

TEST(SessionTunnel, MissingSessionIdIsRefused) {
  TestDaemon d;
  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  grpc::ClientContext ctx;
  auto stream = stub->Session(&ctx);
  latchkey::v1::BytesMessage m;
  EXPECT_FALSE(stream->Read(&m));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "session: missing metadata x-docker-expose-session-uuid");
}

TEST(SessionTunnel, UnknownServiceNameIsRefused) {
  SecretsService secrets;
  auto c = SessionClient::Open(
      grpc::CreateChannel("unix:///nonexistent", grpc::InsecureChannelCredentials()), {"s", "", ""},
      {{&secrets, "moby.buildkit.secrets.v9.Secrets"}});
  EXPECT_EQ(c.status(),
            InvalidArgumentError("session: unknown service moby.buildkit.secrets.v9.Secrets "
                                 "(not in the generated protobuf descriptors)"));
}

// A Secrets service whose GetSecret waits until released: a call pending in the client.
class BlockingSecrets final : public moby::buildkit::secrets::v1::Secrets::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetSecret(grpc::CallbackServerContext* ctx,
                                      const moby::buildkit::secrets::v1::GetSecretRequest*,
                                      moby::buildkit::secrets::v1::GetSecretResponse*) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      arrived_ = true;
      reactor_ = ctx->DefaultReactor();
    }
    cv_.notify_all();
    return reactor_;
  }
  bool WaitArrived() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return arrived_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr)
      reactor_->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "not found"));
    reactor_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool arrived_ = false;
  grpc::ServerUnaryReactor* reactor_ = nullptr;
};

TEST(SessionTunnel, ClientGoingAwayFailsPendingGetSecretUnavailable) {
  TestDaemon d;
  BlockingSecrets secrets;
  auto client = OpenSession(d, "gone", &secrets);
  ASSERT_NE(client, nullptr);
  auto pending = std::async(std::launch::async, [&] {
    return d.sessions().GetSecret("gone", "slow", TestDaemon::In(30));
  });
  ASSERT_TRUE(secrets.WaitArrived());
  // The client ends its Session call with the GetSecret still unanswered.
  auto closing = std::async(std::launch::async, [&] { client->Close(); });
  auto v = pending.get();
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable) << v.status().ToString();
  EXPECT_EQ(v.status().message().rfind("session gone: GetSecret slow: ", 0), 0u)
      << v.status().message();
  secrets.Release();
  closing.get();
  EXPECT_FALSE(d.sessions().WaitFor("gone", TestDaemon::In(0)));
}

TEST(SessionTunnel, GarbageOnTheTunnelClosesThatSessionOnly) {
  TestDaemon d;
  SecretsService secrets;
  ASSERT_TRUE(secrets.Add("tok", Value("CANARY-good-19c2")).ok());
  auto good = OpenSession(d, "good", &secrets);
  ASSERT_NE(good, nullptr);

  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  grpc::ClientContext ctx;
  ctx.AddMetadata(session::kSessionIdKey, "bad");
  auto stream = stub->Session(&ctx);
  ASSERT_TRUE(d.sessions().WaitFor("bad", TestDaemon::In(10)));
  latchkey::v1::BytesMessage junk;
  junk.set_data(std::string(4096, '\xff'));
  ASSERT_TRUE(stream->Write(junk));
  // The daemon's HTTP/2 client rejects the bytes; the session is gone and the call ends.
  latchkey::v1::BytesMessage m;
  while (stream->Read(&m)) {
  }
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "session bad: the tunnelled HTTP/2 connection failed (the client's bytes are not an "
            "HTTP/2 gRPC server's)");
  EXPECT_EQ(d.sessions().GetSecret("bad", "tok", TestDaemon::In(10)).status(),
            NotFoundError("no active session for bad"));

  // The other session and the daemon keep serving.
  auto v = d.sessions().GetSecret("good", "tok", TestDaemon::In(10));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(AsText(*v), "CANARY-good-19c2");
  SecretsService other;
  auto again = OpenSession(d, "bad", &other);
  EXPECT_NE(again, nullptr);
}

TEST(SessionTunnel, CloseAllEndsSessionsUnavailable) {
  TestDaemon d;
  SecretsService secrets;
  auto client = OpenSession(d, "s1", &secrets);
  ASSERT_NE(client, nullptr);
  d.sessions().CloseAll();
  EXPECT_EQ(client->Wait(),
            UnavailableError("session s1: UNAVAILABLE: latchkeyd is shutting down"));
  auto late = SessionClient::Open(d.Connect(), {"s2", "", ""}, {{&secrets, kSecretsName}});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ((*late)->Wait(),
            UnavailableError("session s2: UNAVAILABLE: latchkeyd is shutting down"));
}

TEST(SessionTunnel, SessionsDoNotSeeEachOthersValues) {
  TestDaemon d;
  SecretsService a, b;
  ASSERT_TRUE(a.Add("tok", Value("CANARY-a-5b1e")).ok());
  ASSERT_TRUE(b.Add("tok", Value("CANARY-b-88d0")).ok());
  auto ca = OpenSession(d, "a", &a);
  auto cb = OpenSession(d, "b", &b);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(cb, nullptr);
  for (int i = 0; i < 20; ++i) {
    auto va = d.sessions().GetSecret("a", "tok", TestDaemon::In(10));
    auto vb = d.sessions().GetSecret("b", "tok", TestDaemon::In(10));
    ASSERT_TRUE(va.ok() && vb.ok());
    EXPECT_EQ(AsText(*va), "CANARY-a-5b1e");
    EXPECT_EQ(AsText(*vb), "CANARY-b-88d0");
  }
}

TEST(SessionTunnel, ValueOverTheLimitIsRefusedByTheDaemon) {
  // A client that is not latchkey's (no size check on its side) sends 512001 bytes.
  class BigSecrets final : public moby::buildkit::secrets::v1::Secrets::Service {
    grpc::Status GetSecret(grpc::ServerContext*,
                           const moby::buildkit::secrets::v1::GetSecretRequest*,
                           moby::buildkit::secrets::v1::GetSecretResponse* r) override {
      r->set_data(std::string(512001, 'x'));
      return grpc::Status::OK;
    }
  } big;
  TestDaemon d;
  auto client = OpenSession(d, "big", &big);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(d.sessions().GetSecret("big", "huge", TestDaemon::In(10)).status(),
            ResourceExhaustedError(
                "secret huge from session big: 512001 bytes is over the 512000-byte limit"));
}

}  // namespace
}  // namespace latchkey::daemon
