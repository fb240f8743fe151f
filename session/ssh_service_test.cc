// SshService on a TunnelServer, driven by a gRPC client on the other end of a socketpair (as the
// builder drives the session), against a real ssh-agent and, for the faults, a scripted agent.
#include "session/ssh_service.h"

#include <dirent.h>
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
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/open_fds_testutil.h"
#include "session/tunnel_pump.h"
#include "session/tunnel_server.h"

extern char** environ;

namespace latchkey::session {
namespace {

using moby::sshforward::v1::BytesMessage;
using moby::sshforward::v1::CheckAgentRequest;
using moby::sshforward::v1::CheckAgentResponse;
using moby::sshforward::v1::SSH;
namespace fs = std::filesystem;

struct Tunnel {
  explicit Tunnel(SshService* ssh) {
    auto s = TunnelServer::Start("t", {{ssh, "moby.sshforward.v1.SSH"}});
    if (!s.ok()) std::abort();
    server = std::move(*s);
    auto pair = MakeTunnelSocketPair();
    if (!pair.ok()) std::abort();
    server->Serve(std::move(pair->first));
    channel = grpc::CreateInsecureChannelFromFd("tunnel", pair->second.release());
    stub = SSH::NewStub(channel);
  }
  ~Tunnel() { server->Shutdown(); }
  std::unique_ptr<TunnelServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<SSH::Stub> stub;
};

int Listen(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) return -1;
  return fd;
}

using base::testing::FdsSettledAt;
using base::testing::OpenFds;
using base::testing::SteadyFds;

class SshServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lk-sshsvc-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    if (agent_pid_ > 0) {
      ::kill(agent_pid_, SIGTERM);
      ::waitpid(agent_pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  // A real `ssh-agent -D` on dir_/agent.sock (no keys).
  std::string StartSshAgent() {
    std::string sock = dir_ + "/agent.sock";
    std::vector<std::string> argv = {"/usr/bin/ssh-agent", "-D", "-a", sock};
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(::posix_spawn(&agent_pid_, argv[0].c_str(), &fa, nullptr, c.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500 && !fs::exists(sock); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return sock;
  }

  std::string dir_;
  pid_t agent_pid_ = -1;
};

grpc::Status Check(Tunnel& t, const std::string& id) {
  grpc::ClientContext ctx;
  CheckAgentRequest req;
  req.set_id(id);
  CheckAgentResponse resp;
  return t.stub->CheckAgent(&ctx, req, &resp);
}

// SSH_AGENTC_REQUEST_IDENTITIES and an agent's answer with no keys (draft-miller-ssh-agent).
const std::string kListRequest("\0\0\0\1\x0b", 5);
const std::string kNoIdentities("\0\0\0\5\x0c\0\0\0\0", 9);

TEST_F(SshServiceTest, CheckAgentAnswers) {
  std::string sock = StartSshAgent();
  SshService ssh({{"default", sock}, {"gone", dir_ + "/gone.sock"}});
  Tunnel t(&ssh);
  EXPECT_TRUE(Check(t, "default").ok());
  EXPECT_TRUE(Check(t, "").ok()) << "an empty ID is \"default\"";
  grpc::Status unknown = Check(t, "deploy");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "unset ssh forward key deploy");
  grpc::Status gone = Check(t, "gone");
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(gone.error_message(), "ssh agent socket " + dir_ + "/gone.sock for \"gone\" is not " +
                                      "usable: No such file or directory");
}

// With a recorder (a Docker build's broker session), every CheckAgent is recorded with the id,
// the socket and the answer before it is answered; a recorder error is the answer instead.
TEST_F(SshServiceTest, CheckAgentIsRecordedBeforeItIsAnswered) {
  std::string sock = StartSshAgent();
  std::mutex mu;
  std::vector<std::string> recorded;
  bool refuse = false;
  SshService ssh({{"default", sock}},
                 [&](const std::string& id, const std::string& agent, const Status& answer) {
                   std::lock_guard lock(mu);
                   recorded.push_back(id + " " + agent + " " + answer.ToString());
                   if (refuse) return UnavailableError("audit log unavailable: write timed out");
                   return Status::OK();
                 });
  Tunnel t(&ssh);
  EXPECT_TRUE(Check(t, "").ok());
  EXPECT_EQ(Check(t, "deploy").error_code(), grpc::StatusCode::NOT_FOUND);
  {
    std::lock_guard lock(mu);
    refuse = true;
  }
  grpc::Status refused = Check(t, "default");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.error_message(), "audit log unavailable: write timed out");
  std::lock_guard lock(mu);
  EXPECT_EQ(recorded, (std::vector<std::string>{"default " + sock + " OK",
                                                "deploy  NOT_FOUND: unset ssh forward key deploy",
                                                "default " + sock + " OK"}));
}

// Both directions through a real ssh-agent; the builder's half-close ends the call OK; no
// descriptor is left open.
TEST_F(SshServiceTest, ForwardsToARealAgent) {
  std::string sock = StartSshAgent();
  SshService ssh({{"git", sock}});
  Tunnel t(&ssh);
  std::multiset<std::string> fds_before;
  for (int round = 0; round < 4; ++round) {
    if (round == 1) fds_before = SteadyFds();  // gRPC's own descriptors exist by now
    grpc::ClientContext ctx;
    ctx.AddMetadata(kSshIdKey, "git");
    auto stream = t.stub->ForwardAgent(&ctx);
    BytesMessage m;
    m.set_data(kListRequest);
    ASSERT_TRUE(stream->Write(m));
    std::string got;
    while (got.size() < kNoIdentities.size() && stream->Read(&m)) got += m.data();
    EXPECT_EQ(got, kNoIdentities);
    ASSERT_TRUE(stream->WritesDone());
    EXPECT_FALSE(stream->Read(&m));  // ssh-agent closes after our EOF
    grpc::Status st = stream->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(ssh.forwarded(), 4u);
  EXPECT_EQ(FdsSettledAt(fds_before), fds_before);
}

TEST_F(SshServiceTest, ForwardRefusals) {
  SshService ssh({{"default", dir_ + "/gone.sock"}});
  Tunnel t(&ssh);
  {
    grpc::ClientContext ctx;  // no metadata: "default"
    auto stream = t.stub->ForwardAgent(&ctx);
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(st.error_message(), "failed to dial agent default: connect " + dir_ +
                                      "/gone.sock: No such file or directory");
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata(kSshIdKey, "deploy");
    auto stream = t.stub->ForwardAgent(&ctx);
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(st.error_message(), "unset ssh forward key deploy");
  }
  EXPECT_EQ(ssh.forwarded(), 0u);
}

// The agent closing first ends the builder's stream (after what it sent); the builder
// cancelling closes the agent's connection.
TEST_F(SshServiceTest, EitherSideClosing) {
  int agent = Listen(dir_ + "/fake.sock");
  ASSERT_GE(agent, 0);
  SshService ssh({{"default", dir_ + "/fake.sock"}});
  Tunnel t(&ssh);
  {
    grpc::ClientContext ctx;
    auto stream = t.stub->ForwardAgent(&ctx);
    int c = ::accept(agent, nullptr, nullptr);
    ASSERT_GE(c, 0);
    ASSERT_EQ(::write(c, "bye", 3), 3);
    ::close(c);
    BytesMessage m;
    std::string got;
    while (stream->Read(&m)) got += m.data();
    EXPECT_EQ(got, "bye");
    EXPECT_TRUE(stream->Finish().ok());
  }
  {
    grpc::ClientContext ctx;
    auto stream = t.stub->ForwardAgent(&ctx);
    int c = ::accept(agent, nullptr, nullptr);
    ASSERT_GE(c, 0);
    BytesMessage m;
    m.set_data("hello");
    ASSERT_TRUE(stream->Write(m));
    char buf[16];
    ASSERT_EQ(::read(c, buf, sizeof buf), 5);
    ctx.TryCancel();
    EXPECT_EQ(::read(c, buf, sizeof buf), 0) << "the agent's connection ends";
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
    ::close(c);
  }
  ::close(agent);
}

}  // namespace
}  // namespace latchkey::session
