#include "builder/executor/ssh_forwarder.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

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
  auto fwd = SshForwarder::Start("default", dir + "/agent", dir + "/fwd", 0, 0, 0600);
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

TEST(SshForwarder, UnusableAgentSocket) {
  auto fwd =
      SshForwarder::Start("default", "/nonexistent/agent.sock", "/tmp/unused-fwd", 0, 0, 0600);
  ASSERT_FALSE(fwd.ok());
  EXPECT_EQ(fwd.status().message(),
            "ssh agent socket /nonexistent/agent.sock for \"default\" is not usable: No such file "
            "or directory");
}

}  // namespace
}  // namespace latchkey::executor
