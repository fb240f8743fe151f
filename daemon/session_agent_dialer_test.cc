// SessionAgentDialer against the client's SshService on a real session tunnel (TunnelServer on
// a socketpair) and a real ssh-agent, through the executor's SshForwarder socket as a step
// would use it.
#include "daemon/session_agent_dialer.h"

#include <fcntl.h>
#include <grpcpp/create_channel_posix.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "base/open_fds_testutil.h"
#include "builder/executor/ssh_forwarder.h"
#include "session/secrets_service.h"
#include "session/ssh_service.h"
#include "session/tunnel_pump.h"
#include "session/tunnel_server.h"

extern char** environ;

namespace latchkey::daemon {
namespace {

namespace fs = std::filesystem;

// SSH_AGENTC_REQUEST_IDENTITIES and an agent's answer with no keys (draft-miller-ssh-agent).
const std::string kListRequest("\0\0\0\1\x0b", 5);
const std::string kNoIdentities("\0\0\0\5\x0c\0\0\0\0", 9);

std::shared_ptr<grpc::Channel> Serve(const std::vector<session::ServedService>& services,
                                     std::unique_ptr<session::TunnelServer>* server) {
  auto s = session::TunnelServer::Start("s1", services);
  if (!s.ok()) std::abort();
  *server = std::move(*s);
  auto pair = session::MakeTunnelSocketPair();
  if (!pair.ok()) std::abort();
  (*server)->Serve(std::move(pair->first));
  return grpc::CreateInsecureChannelFromFd("session:s1", pair->second.release());
}

using base::testing::FdsSettledAt;
using base::testing::OpenFds;

class SessionAgentDialerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lk-sad-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    sock_ = dir_ + "/agent.sock";
    std::vector<std::string> argv = {"/usr/bin/ssh-agent", "-D", "-a", sock_};
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    ASSERT_EQ(::posix_spawn(&agent_pid_, argv[0].c_str(), &fa, nullptr, c.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500 && !fs::exists(sock_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void TearDown() override {
    if (agent_pid_ > 0) {
      ::kill(agent_pid_, SIGTERM);
      ::waitpid(agent_pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  std::string dir_, sock_;
  pid_t agent_pid_ = -1;
};

TEST_F(SessionAgentDialerTest, ChecksOnTheClient) {
  session::SshService ssh({{"default", sock_}, {"gone", dir_ + "/gone.sock"}});
  std::unique_ptr<session::TunnelServer> server;
  SessionAgentDialer dialer("s1", Serve({{&ssh, "moby.sshforward.v1.SSH"}}, &server));
  EXPECT_TRUE(dialer.Check("default").ok());
  EXPECT_EQ(dialer.Check("deploy"), NotFoundError("unset ssh forward key deploy"));
  EXPECT_EQ(dialer.Check("gone"),
            FailedPreconditionError("ssh agent socket " + dir_ +
                                    "/gone.sock for \"gone\" is not usable: No such file or "
                                    "directory"));
  server->Shutdown();
  Status lost = dialer.Check("default");
  EXPECT_EQ(lost.code(), StatusCode::kUnavailable);
  EXPECT_EQ(lost.message().rfind("session s1: CheckAgent default: ", 0), 0u) << lost.message();
}

// A client that serves no agents (no SSH service on its session): every id is NOT_FOUND.
TEST_F(SessionAgentDialerTest, ClientWithoutAgents) {
  session::SecretsService secrets;
  std::unique_ptr<session::TunnelServer> server;
  SessionAgentDialer dialer("s1", Serve({{&secrets, "moby.buildkit.secrets.v1.Secrets"}}, &server));
  EXPECT_EQ(dialer.Check("default"), NotFoundError("unset ssh forward key default"));
}

// A step's connections to its ssh socket reach the client's real ssh-agent, one ForwardAgent
// call each, and end when the step closes them.
TEST_F(SessionAgentDialerTest, StepConnectionsReachTheClientsAgent) {
  session::SshService ssh({{"git", sock_}});
  std::unique_ptr<session::TunnelServer> server;
  auto dialer = std::make_shared<SessionAgentDialer>(
      "s1", Serve({{&ssh, "moby.sshforward.v1.SSH"}}, &server));
  ASSERT_TRUE(dialer->Check("git").ok());
  auto fwd = executor::SshForwarder::Start("git", dialer, dir_ + "/fwd", 0, 0, 0600);
  ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
  const std::multiset<std::string> fds_before = OpenFds();
  for (int round = 0; round < 4; ++round) {
    int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a = {};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, (*fwd)->socket_path().c_str());
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::write(c, kListRequest.data(), kListRequest.size()), 5);
    std::string got;
    char buf[64];
    while (got.size() < kNoIdentities.size()) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(got, kNoIdentities);
    ::shutdown(c, SHUT_WR);
    EXPECT_EQ(::read(c, buf, sizeof buf), 0) << "the agent's close reaches the step";
    ::close(c);
  }
  EXPECT_EQ(ssh.forwarded(), 4u);
  EXPECT_EQ(FdsSettledAt(fds_before), fds_before) << "no descriptor left on either side";
  // A connection still open when the step ends: Stop cancels its call.
  int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, (*fwd)->socket_path().c_str());
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::write(c, kListRequest.data(), kListRequest.size()), 5);
  char b[64];
  ASSERT_EQ(::read(c, b, sizeof b), static_cast<ssize_t>(kNoIdentities.size()));
  (*fwd)->Stop();
  EXPECT_EQ(::read(c, b, sizeof b), 0);
  ::close(c);
  server->Shutdown();
}

}  // namespace
}  // namespace latchkey::daemon
