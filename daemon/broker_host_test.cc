// BrokerHost: a reload changes the policy of sessions opened afterwards, never of open ones;
// a session's peer identity is decided on by policy and written in its audit records.
#include "daemon/broker_host.h"

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/split.h"
#include "daemon/peer.h"

namespace latchkey::daemon {
namespace {

class BrokerHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = base::MakeTempDir("/tmp", "broker-host-test-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override { (void)base::RemoveAll(dir_); }

  Config ConfigOf(const std::string& policy) {
    ConfigContext ctx;
    ctx.env = {{"HOME", dir_}};
    ctx.euid = ::geteuid();
    ctx.exe_dir = dir_;
    ctx.cwd = dir_;
    auto c = ParseConfig("state_dir: " + dir_ + "/state\n" + policy, dir_ + "/latchkey.yaml", ctx);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : Config();
  }

  static SessionAttributes EnvSecretSession() {
    SessionAttributes a;
    a.declared.push_back({"tok", SecretSource::Kind::kEnv, "TOK", ""});
    return a;
  }

  std::string dir_;
};

constexpr char kNoEnv[] = R"(
policy:
  rules:
    - name: no-env
      source: env
      allow: false
      reason: no environment sources on this daemon
)";

TEST_F(BrokerHostTest, ReloadAppliesToNewSessionsOnly) {
  auto host = BrokerHost::Start(ConfigOf(""));
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  auto before = (*host)->Open(EnvSecretSession());
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  StepContext step;
  EXPECT_TRUE((*before)->Authorize("tok", step).ok());

  ASSERT_TRUE((*host)->Reload(ConfigOf(kNoEnv)).ok());
  EXPECT_EQ((*host)->config()->policy.rules().size(), 1u);
  auto after = (*host)->Open(EnvSecretSession());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->Authorize("tok", step).status(),
            PermissionDeniedError("secret tok: denied by policy rule \"no-env\": no environment "
                                  "sources on this daemon"));
  // The session opened before the reload keeps its generation.
  EXPECT_TRUE((*before)->Authorize("tok", step).ok());
  EXPECT_TRUE((*before)->Close().ok());
  EXPECT_TRUE((*after)->Close().ok());
}

TEST_F(BrokerHostTest, PeerIdentityIsInEveryRecordAndMatchedByPolicy) {
  auto host = BrokerHost::Start(ConfigOf(R"(
policy:
  rules:
    - name: only-ci-over-tls
      source: env
      client_cn: ["laptop-*"]
      allow: false
      reason: laptops may not read environment secrets through the daemon
)"));
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  audit::PeerInfo tcp;
  tcp.transport = "tcp";
  tcp.client_cn = "laptop-3";
  tcp.address = "ipv4:127.0.0.1:50312";
  SessionAttributes a = EnvSecretSession();
  SetPeerAttributes(tcp, &a);
  auto s = (*host)->Open(std::move(a));
  ASSERT_TRUE(s.ok());
  StepContext step;
  step.stage = "0";
  Status denied = (*s)->Fetch("tok", step).status();
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied) << denied.ToString();
  ASSERT_TRUE((*s)->Close().ok());

  audit::PeerInfo unix_peer = UnixPeerInfo({::geteuid(), ::getegid(), ::getpid()});
  SessionAttributes b = EnvSecretSession();
  SetPeerAttributes(unix_peer, &b);
  EXPECT_EQ(b.uid, ::geteuid());
  auto local = (*host)->Open(std::move(b));
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE((*local)->Authorize("tok", step).ok()) << "a unix peer has no client_cn";
  ASSERT_TRUE((*local)->Close().ok());

  auto log = base::ReadFile(dir_ + "/state/audit/audit.log");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const std::string tcp_peer =
      R"("peer":{"transport":"tcp","client_cn":"laptop-3","address":"ipv4:127.0.0.1:50312"})";
  const std::string unix_json =
      R"("peer":{"transport":"unix","uid":)" + std::to_string(::geteuid()) + R"(,"gid":)" +
      std::to_string(::getegid()) + R"(,"pid":)" + std::to_string(::getpid());
  int open = 0, fetch = 0, close = 0;
  for (auto line : base::Split(*log, '\n')) {
    std::string l(line);
    bool is_session_record = l.find("\"event\":\"session.") != std::string::npos ||
                             l.find("\"event\":\"secret.fetch\"") != std::string::npos;
    if (!is_session_record) continue;
    EXPECT_TRUE(l.find(tcp_peer) != std::string::npos || l.find(unix_json) != std::string::npos)
        << l;
    open += l.find("\"event\":\"session.open\"") != std::string::npos;
    fetch += l.find("\"event\":\"secret.fetch\"") != std::string::npos;
    close += l.find("\"event\":\"session.close\"") != std::string::npos;
  }
  EXPECT_EQ(open, 2);
  EXPECT_EQ(fetch, 1);
  EXPECT_EQ(close, 2);
  EXPECT_NE(log->find(R"("requester":"client_cn=laptop-3")"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::daemon
