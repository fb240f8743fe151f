#include "builder/executor/ssh_forwarder.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

namespace latchkey::executor {
namespace {

int Listen(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) return -1;
  return fd;
}

int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  return fd;
}

TEST(SshForwarder, ForwardsBothWays) {
  char tmpl[] = "/tmp/lk-ssh-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  int agent = Listen(dir + "/agent");
  ASSERT_GE(agent, 0);
  std::thread echo([agent] {
    // Start() probes the agent with a connection that sends nothing; echo the first
    // connection that does send something.
    for (;;) {
      int c = ::accept(agent, nullptr, nullptr);
      if (c < 0) return;
      char buf[64];
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n > 0) (void)!::write(c, buf, static_cast<size_t>(n));
      ::close(c);
      if (n > 0) return;
    }
  });
  auto dialer = std::make_shared<LocalAgentDialer>(
      std::map<std::string, std::string>{{"default", dir + "/agent"}});
  ASSERT_TRUE(dialer->Check("default").ok());
  auto fwd = SshForwarder::Start("default", dialer, dir + "/fwd", 0, 0, 0600);
  ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((*fwd)->socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  int c = Connect((*fwd)->socket_path());
  ASSERT_GE(c, 0);
  ASSERT_EQ(::write(c, "ping", 4), 4);
  char buf[8] = {};
  ASSERT_EQ(::read(c, buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  ::close(c);
  echo.join();
  (*fwd)->Stop();
  ::close(agent);
  std::filesystem::remove_all(dir);
}

TEST(LocalAgentDialer, UnusableAgentSocket) {
  LocalAgentDialer dialer(
      std::map<std::string, std::string>{{"default", "/nonexistent/agent.sock"}});
  Status st = dialer.Check("default");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "ssh agent socket /nonexistent/agent.sock for \"default\" is not usable: No such file "
            "or directory");
}

TEST(LocalAgentDialer, UnknownIdIsNotFound) {
  LocalAgentDialer dialer(
      std::map<std::string, std::string>{{"default", "/a.sock"}, {"empty", ""}});
  for (const char* id : {"deploy", "empty"}) {
    Status st = dialer.Check(id);
    EXPECT_EQ(st.code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(st.message(), std::string("unset ssh forward key ") + id);
    int p[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    ::close(p[1]);
    EXPECT_EQ(dialer.Forward(id, base::UniqueFd(p[0]), -1).code(), StatusCode::kNotFound);
  }
}

// A connection over the limit is closed at once; the ones already served keep working.
TEST(SshForwarder, ConnectionsBeyondTheLimitAreClosed) {
  char tmpl[] = "/tmp/lk-ssh-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  int agent = Listen(dir + "/agent");
  ASSERT_GE(agent, 0);
  auto dialer = std::make_shared<LocalAgentDialer>(
      std::map<std::string, std::string>{{"default", dir + "/agent"}});
  auto fwd = SshForwarder::Start("default", dialer, dir + "/fwd", 0, 0, 0600);
  ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
  std::vector<int> held, agent_side;
  for (size_t i = 0; i < SshForwarder::kMaxConnections; ++i) {
    int c = Connect((*fwd)->socket_path());
    ASSERT_GE(c, 0);
    held.push_back(c);
    int a = ::accept(agent, nullptr, nullptr);  // the forwarder dialed the agent for it
    ASSERT_GE(a, 0);
    agent_side.push_back(a);
  }
  int extra = Connect((*fwd)->socket_path());
  ASSERT_GE(extra, 0);
  char buf[8];
  EXPECT_EQ(::read(extra, buf, sizeof buf), 0);  // closed without reaching the agent
  ::close(extra);
  ASSERT_EQ(::write(held[0], "x", 1), 1);
  EXPECT_EQ(::read(agent_side[0], buf, sizeof buf), 1);
  (*fwd)->Stop();
  for (int c : held) EXPECT_EQ(::read(c, buf, sizeof buf), 0);  // Stop ended them
  for (int c : held) ::close(c);
  for (int a : agent_side) ::close(a);
  ::close(agent);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace latchkey::executor
