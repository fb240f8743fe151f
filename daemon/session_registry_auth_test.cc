// SessionRegistryAuth against the client's AuthService on a real session tunnel (TunnelServer on
// a socketpair), as a latchkeyd build asks its client for a registry login.
#include "daemon/session_registry_auth.h"

#include <grpcpp/create_channel_posix.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "secure/docker_config.h"
#include "session/auth_service.h"
#include "session/secrets_service.h"
#include "session/tunnel_pump.h"
#include "session/tunnel_server.h"

namespace latchkey::daemon {
namespace {

std::shared_ptr<const SecretBuffer> Buf(const std::string& s) {
  auto b = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

std::string Str(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class SessionRegistryAuthTest : public ::testing::Test {
 protected:
  // Serves `services` on a tunnel; the daemon's end is the returned asker.
  SessionRegistryAuth Serve(const std::vector<session::ServedService>& services) {
    auto s = session::TunnelServer::Start("s1", services);
    if (!s.ok()) std::abort();
    server_ = std::move(*s);
    auto pair = session::MakeTunnelSocketPair();
    if (!pair.ok()) std::abort();
    server_->Serve(std::move(pair->first));
    channel_ = grpc::CreateInsecureChannelFromFd("session:s1", pair->second.release());
    return SessionRegistryAuth("s1", channel_);
  }
  static std::chrono::steady_clock::time_point Soon() {
    return std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }

  // The server shuts down first, while the daemon's end and the services are still there.
  void TearDown() override {
    server_.reset();
    channel_.reset();
  }
  std::vector<std::string> asked_;
  // The services outlive the server that calls them.
  std::unique_ptr<session::AuthService> auth_;
  session::SecretsService secrets_;
  // The daemon's end of the tunnel. (Destroying a channel that has just read a large answer
  // sometimes takes gRPC 10 s: AnOversizedLoginIsRefused may be slow; no assertion depends on
  // it.)
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<session::TunnelServer> server_;
};

TEST_F(SessionRegistryAuthTest, APasswordLoginBecomesCredentialHelperJson) {
  auth_ = std::make_unique<session::AuthService>(
      [this](const std::string& host) -> Result<session::RegistryLogin> {
        asked_.push_back(host);
        return session::RegistryLogin{Buf("bob"), Buf("pw-canary-\"42\"")};
      });
  SessionRegistryAuth ask = Serve({{auth_.get(), "moby.filesync.v1.Auth", {"Credentials"}}});
  auto json = ask.Credentials("reg.test:5000", Soon());
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(Str(*json),
            R"({"ServerURL":"reg.test:5000","Username":"bob","Secret":"pw-canary-\"42\""})");
  auto parsed = docker_config::ParseCredentialJson(json->bytes(), "login");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(Str(parsed->password), "pw-canary-\"42\"");
  EXPECT_EQ(asked_, std::vector<std::string>{"reg.test:5000"});
}

// Docker Hub is asked as BuildKit names it (registry-1.docker.io); the client's AuthService
// maps it back to docker.io. An identity token (no username) becomes Username "<token>".
TEST_F(SessionRegistryAuthTest, DockerHubAndIdentityTokens) {
  auth_ = std::make_unique<session::AuthService>(
      [this](const std::string& host) -> Result<session::RegistryLogin> {
        asked_.push_back(host);
        return session::RegistryLogin{nullptr, Buf("refresh-canary")};
      });
  SessionRegistryAuth ask = Serve({{auth_.get(), "moby.filesync.v1.Auth", {"Credentials"}}});
  auto json = ask.Credentials("docker.io", Soon());
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(Str(*json),
            R"({"ServerURL":"docker.io","Username":"<token>","Secret":"refresh-canary"})");
  auto parsed = docker_config::ParseCredentialJson(json->bytes(), "login");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(Str(parsed->identity_token), "refresh-canary");
  EXPECT_EQ(asked_, std::vector<std::string>{"docker.io"});
}

TEST_F(SessionRegistryAuthTest, NoLoginOnTheClientIsNotFound) {
  auth_ = std::make_unique<session::AuthService>(
      [](const std::string& host) -> Result<session::RegistryLogin> {
        return NotFoundError("no login for " + host);
      });
  SessionRegistryAuth ask = Serve({{auth_.get(), "moby.filesync.v1.Auth", {"Credentials"}}});
  auto json = ask.Credentials("reg.test:5000", Soon());
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(json.status().message(), "the latchkeyd client has no login for reg.test:5000");
}

// A client that does not serve Auth (an older client): NOT_FOUND, the daemon's own credentials.
TEST_F(SessionRegistryAuthTest, AClientWithoutAuthIsNotFound) {
  SessionRegistryAuth ask = Serve({{&secrets_, "moby.buildkit.secrets.v1.Secrets"}});
  auto json = ask.Credentials("reg.test:5000", Soon());
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(json.status().message(), "the latchkeyd client has no login for reg.test:5000");
}

TEST_F(SessionRegistryAuthTest, TheClientsRefusalKeepsItsCodeAndText) {
  auth_ = std::make_unique<session::AuthService>([](const std::string&)
                                                     -> Result<session::RegistryLogin> {
    return FailedPreconditionError(
        "registries: entry for reg.test:5000 names provider \"vault\", which is not configured");
  });
  SessionRegistryAuth ask = Serve({{auth_.get(), "moby.filesync.v1.Auth", {"Credentials"}}});
  auto json = ask.Credentials("reg.test:5000", Soon());
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(json.status().message(),
            "session s1: Credentials reg.test:5000: registries: entry for reg.test:5000 names "
            "provider \"vault\", which is not configured");
}

TEST_F(SessionRegistryAuthTest, AnOversizedLoginIsRefused) {
  auth_ = std::make_unique<session::AuthService>(
      [](const std::string&) -> Result<session::RegistryLogin> {
        return session::RegistryLogin{Buf("u"), Buf(std::string(session::kMaxSecretSize, 'x'))};
      });
  SessionRegistryAuth ask = Serve({{auth_.get(), "moby.filesync.v1.Auth", {"Credentials"}}});
  auto json = ask.Credentials("reg.test:5000", Soon());
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(json.status().message(),
            "registry login for reg.test:5000 from session s1: 512001 bytes is over the "
            "512000-byte limit");
}

}  // namespace
}  // namespace latchkey::daemon
