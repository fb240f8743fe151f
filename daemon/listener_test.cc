#include "daemon/listener.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include "base/env.h"
#include "base/file.h"

namespace latchkey::daemon {
namespace {

class ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = base::MakeTempDir("/tmp", "listener-test-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override { (void)base::RemoveAll(dir_); }
  std::string dir_;
};

TEST(ParseListen, UnixAndTcp) {
  auto u = ParseListen("unix:///run/latchkey/latchkeyd.sock");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(u->path, "/run/latchkey/latchkeyd.sock");
  auto t = ParseListen("tcp://127.0.0.1:7443");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(t->hostport, "127.0.0.1:7443");
  const std::string want = ": want unix:///absolute/path or tcp://host:port";
  for (const char* bad : {"unix://relative.sock", "tcp://127.0.0.1", "tcp://:7443",
                          "tcp://127.0.0.1:99999", "tcp://h:1/x", "http://127.0.0.1:1"}) {
    EXPECT_EQ(ParseListen(bad).status(),
              InvalidArgumentError(std::string("invalid --listen ") + bad + want))
        << bad;
  }
}

TEST_F(ListenerTest, AdoptRefusesWhatIsNotAListeningUnixSocket) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_EQ(UnixListener::Adopt(fds[0]).status(),
            FailedPreconditionError("socket-activated fd " + std::to_string(fds[0]) +
                                    " is not a listening unix stream socket"));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(ListenerTest, AdoptServesAnActivatedSocketAndLeavesItsPath) {
  // A service manager's socket: bound and listening before the daemon starts.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir_ + "/activated.sock";
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  auto l = UnixListener::Adopt(fd);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->path(), path);
  (*l)->Stop();
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << "an adopted socket's path belongs to the manager";
}

TEST_F(ListenerTest, SocketIs0660AndRemovedOnStop) {
  auto l = UnixListener::Open(dir_ + "/run/d.sock");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  struct stat st {};
  ASSERT_EQ(::lstat((dir_ + "/run/d.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, (*l)->gid());
  (*l)->Stop();
  EXPECT_NE(::lstat((dir_ + "/run/d.sock").c_str(), &st), 0);
}

TEST_F(ListenerTest, RefusesALiveSocketAndReplacesAStaleOne) {
  const std::string path = dir_ + "/d.sock";
  {
    auto first = UnixListener::Open(path);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(UnixListener::Open(path).status(),
              FailedPreconditionError("refusing to listen on " + path +
                                      ": another process is listening on it"));
    // Dropped without Stop's unlink: leave a stale socket file behind.
    ASSERT_EQ(::link(path.c_str(), (path + ".kept").c_str()), 0);
  }
  ASSERT_EQ(::rename((path + ".kept").c_str(), path.c_str()), 0);
  auto again = UnixListener::Open(path);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(ListenerTest, RefusesANonSocket) {
  const std::string path = dir_ + "/file";
  ASSERT_TRUE(base::WriteFileAtomic(path, "x").ok());
  EXPECT_EQ(
      UnixListener::Open(path).status(),
      FailedPreconditionError("refusing to listen on " + path + ": it exists and is not a socket"));
}

TEST_F(ListenerTest, RefusesADirectoryItDoesNotOwn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the directory to another uid";
  const std::string sub = dir_ + "/other";
  ASSERT_TRUE(base::MakeDirs(sub, 0755).ok());
  ASSERT_EQ(::chown(sub.c_str(), 65534, 65534), 0);
  EXPECT_EQ(UnixListener::Open(sub + "/d.sock").status(),
            FailedPreconditionError("refusing to listen on " + sub + "/d.sock: directory " + sub +
                                    " is owned by uid 65534, not by latchkeyd's uid 0"));
}

TEST_F(ListenerTest, RefusesAPathTooLong) {
  std::string path = "/tmp/" + std::string(120, 'a') + ".sock";
  EXPECT_EQ(UnixListener::Open(path).status(),
            InvalidArgumentError("socket path " + path + " is longer than 107 bytes"));
}

}  // namespace
}  // namespace latchkey::daemon
