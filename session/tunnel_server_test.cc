// TunnelServer with the services a Docker Engine session serves, driven by a gRPC client on the
// other end of a socketpair (as the Engine's BuildKit drives the upgraded /session connection).
#include "session/tunnel_server.h"

#include <grpcpp/create_channel_posix.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session/auth_service.h"
#include "session/secrets_service.h"
#include "session/tunnel_pump.h"

namespace latchkey::session {
namespace {

using moby::buildkit::secrets::v1::GetSecretRequest;
using moby::buildkit::secrets::v1::GetSecretResponse;
using moby::filesync::v1::CredentialsRequest;
using moby::filesync::v1::CredentialsResponse;

std::shared_ptr<const SecretBuffer> Text(const std::string& s) {
  auto b = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

// A TunnelServer serving `services` and a channel to it over a socketpair.
struct Tunnel {
  explicit Tunnel(const std::vector<ServedService>& services) {
    auto s = TunnelServer::Start("t", services);
    if (!s.ok()) std::abort();
    server = std::move(*s);
    auto pair = MakeTunnelSocketPair();
    if (!pair.ok()) std::abort();
    server->Serve(std::move(pair->first));
    channel = grpc::CreateInsecureChannelFromFd("tunnel", pair->second.release());
  }
  std::unique_ptr<TunnelServer> server;
  std::shared_ptr<grpc::Channel> channel;
};

TEST(TunnelServer, AdvertisesOnlyTheListedMethods) {
  AuthService auth([](const std::string&) -> Result<RegistryLogin> { return RegistryLogin{}; });
  SecretsService secrets;
  auto m = TunnelServer::MethodNames({{&secrets, "moby.buildkit.secrets.v1.Secrets"},
                                      {&auth, "moby.filesync.v1.Auth", {"Credentials"}}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<std::string>{"/moby.buildkit.secrets.v1.Secrets/GetSecret",
                                          "/moby.filesync.v1.Auth/Credentials"}));
  auto bad = TunnelServer::MethodNames({{&auth, "moby.filesync.v1.Auth", {"Credential"}}});
  EXPECT_EQ(bad.status(), InvalidArgumentError(
                              "session: service moby.filesync.v1.Auth has no method Credential"));
}

TEST(TunnelServer, SecretsFromALookup) {
  SecretsService secrets(
      [](const std::string& id,
         const std::map<std::string, std::string>&) -> Result<std::shared_ptr<const SecretBuffer>> {
        if (id == "tok") return Text("value-1");
        if (id == "denied")
          return PermissionDeniedError("secret denied: denied by policy rule \"r\"");
        if (id == "big") return Text(std::string(kMaxSecretSize + 1, 'x'));
        return NotFoundError("secret " + id + ": not found (tried: ...)");
      });
  Tunnel t({{&secrets, "moby.buildkit.secrets.v1.Secrets"}});
  auto stub = moby::buildkit::secrets::v1::Secrets::NewStub(t.channel);
  auto get = [&](const std::string& id, GetSecretResponse* resp) {
    grpc::ClientContext ctx;
    GetSecretRequest req;
    req.set_id(id);
    return stub->GetSecret(&ctx, req, resp);
  };
  GetSecretResponse resp;
  grpc::Status st = get("tok", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.data(), "value-1");
  st = get("denied", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "secret denied: denied by policy rule \"r\"");
  // NOT_FOUND carries no text of the broker's: BuildKit words it ("secret x not found").
  st = get("nosuch", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "not found");
  st = get("big", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "secret big too big. max size 500KiB");
  EXPECT_EQ(secrets.served(), 1u);
}

TEST(TunnelServer, RegistryCredentialsFromALookup) {
  std::vector<std::string> asked;
  std::mutex mu;
  AuthService auth([&](const std::string& host) -> Result<RegistryLogin> {
    {
      std::lock_guard<std::mutex> lock(mu);
      asked.push_back(host);
    }
    if (host == "reg:5000") return RegistryLogin{Text("alice"), Text("pw-1")};
    if (host == "docker.io") return RegistryLogin{nullptr, Text("identity-token")};
    if (host == "denied") return PermissionDeniedError("registry denied: denied by policy");
    return NotFoundError("no credential");
  });
  Tunnel t({{&auth, "moby.filesync.v1.Auth", {"Credentials"}}});
  auto stub = moby::filesync::v1::Auth::NewStub(t.channel);
  auto creds = [&](const std::string& host, CredentialsResponse* resp) {
    grpc::ClientContext ctx;
    CredentialsRequest req;
    req.set_host(host);
    return stub->Credentials(&ctx, req, resp);
  };
  CredentialsResponse resp;
  ASSERT_TRUE(creds("reg:5000", &resp).ok());
  EXPECT_EQ(resp.username(), "alice");
  EXPECT_EQ(resp.secret(), "pw-1");
  resp.Clear();
  ASSERT_TRUE(creds("registry-1.docker.io", &resp).ok());
  EXPECT_EQ(resp.username(), "");
  EXPECT_EQ(resp.secret(), "identity-token");
  resp.Clear();
  ASSERT_TRUE(creds("elsewhere", &resp).ok());  // anonymous
  EXPECT_EQ(resp.username(), "");
  EXPECT_EQ(resp.secret(), "");
  grpc::Status st = creds("denied", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "registry denied: denied by policy");
  EXPECT_EQ(asked, (std::vector<std::string>{"reg:5000", "docker.io", "elsewhere", "denied"}));
  EXPECT_EQ(auth.served(), 2u);
  // A method the session does not implement.
  grpc::ClientContext ctx;
  moby::filesync::v1::FetchTokenRequest req;
  moby::filesync::v1::FetchTokenResponse fresp;
  EXPECT_EQ(stub->FetchToken(&ctx, req, &fresp).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(TunnelServer, AnswersBuildKitsHealthCheck) {
  SecretsService secrets;
  Tunnel t({{&secrets, "moby.buildkit.secrets.v1.Secrets"}});
  grpc::GenericStub stub(t.channel);
  grpc::ClientContext ctx;
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);  // an empty HealthCheckRequest
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

}  // namespace
}  // namespace latchkey::session
