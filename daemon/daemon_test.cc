// Daemon assembled in process: the state-dir lock's clean-stop mark, crash detection handed to
// the recovery hook, and the audit checkpoint Shutdown signs.
#include "daemon/daemon.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/split.h"

namespace latchkey::daemon {
namespace {

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = base::MakeTempDir("/tmp", "daemon-test-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override { (void)base::RemoveAll(dir_); }

  DaemonOptions Options() {
    ConfigContext ctx;
    ctx.env = {{"HOME", dir_}};
    ctx.euid = ::geteuid();
    ctx.exe_dir = dir_;
    ctx.cwd = dir_;
    auto c = ParseConfig("state_dir: " + dir_ + "/state\n", dir_ + "/latchkey.yaml", ctx);
    EXPECT_TRUE(c.ok()) << c.status().message();
    DaemonOptions o;
    ListenAddress a;
    a.path = dir_ + "/d.sock";
    o.listen.push_back(a);
    o.builder_state_dir = dir_ + "/state/builder";
    o.info.state_dir = dir_ + "/state";
    if (c.ok()) o.config = *c;
    return o;
  }

  std::string LastLine(const std::string& path) {
    auto text = base::ReadFile(path);
    EXPECT_TRUE(text.ok());
    if (!text.ok()) return "";
    auto lines = base::Split(*text, '\n');
    return lines.empty() ? "" : std::string(lines.back());
  }

  std::string dir_;
};

TEST_F(DaemonTest, ShutdownSignsACheckpointAndMarksACleanStop) {
  int64_t seen_previous = -1;
  DaemonOptions o = Options();
  o.recover = [&](BrokerHost&, int64_t previous_pid) {
    seen_previous = previous_pid;
    return Status::OK();
  };
  auto d = Daemon::Start(std::move(o));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(seen_previous, 0);
  EXPECT_EQ((*d)->addresses(), (std::vector<std::string>{"unix://" + dir_ + "/d.sock"}));
  auto session = (*d)->broker().Open({});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_TRUE((*d)->Shutdown().ok());
  std::string last = LastLine(dir_ + "/state/audit/audit.log");
  EXPECT_NE(last.find(R"("event":"audit.checkpoint")"), std::string::npos) << last;
  EXPECT_NE(last.find(R"("reason":"shutdown")"), std::string::npos) << last;
  auto lock = base::ReadFile(dir_ + "/state/latchkeyd.lock");
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(*lock, "") << "a clean stop empties the lock file";
  (void)(*session)->Close();
  d->reset();

  // The next start finds no dead daemon.
  DaemonOptions again = Options();
  again.recover = [&](BrokerHost&, int64_t previous_pid) {
    seen_previous = previous_pid;
    return Status::OK();
  };
  auto d2 = Daemon::Start(std::move(again));
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();
  EXPECT_EQ(seen_previous, 0);
}

TEST_F(DaemonTest, APidLeftInTheLockFileReachesRecoveryAndItsErrorStopsTheStart) {
  ASSERT_TRUE(base::MakeDirs(dir_ + "/state", 0700).ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir_ + "/state/latchkeyd.lock", "4242\n").ok());
  int64_t seen_previous = -1;
  DaemonOptions o = Options();
  o.recover = [&](BrokerHost&, int64_t previous_pid) {
    seen_previous = previous_pid;
    return FailedPreconditionError("recovering " + dir_ + "/state/builder: umount: busy");
  };
  auto d = Daemon::Start(std::move(o));
  EXPECT_EQ(seen_previous, 4242);
  EXPECT_EQ(d.status(),
            FailedPreconditionError("recovering " + dir_ + "/state/builder: umount: busy"));
  struct stat st {};
  EXPECT_NE(::stat((dir_ + "/d.sock").c_str(), &st), 0) << "nothing is served after a failed start";
  // The next start still sees the daemon that died.
  DaemonOptions again = Options();
  again.recover = [&](BrokerHost&, int64_t previous_pid) {
    seen_previous = previous_pid;
    return Status::OK();
  };
  auto d2 = Daemon::Start(std::move(again));
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();
  EXPECT_EQ(seen_previous, 4242);
}

TEST_F(DaemonTest, TlsFilesAreCheckedByName) {
  DaemonOptions o = Options();
  ListenAddress tcp;
  tcp.kind = ListenAddress::Kind::kTcp;
  tcp.hostport = "127.0.0.1:0";
  o.listen.push_back(tcp);
  EXPECT_EQ(Daemon::Start(o).status(),
            InvalidArgumentError("--listen tcp://127.0.0.1:0: needs --tls-cert, --tls-key and "
                                 "--tls-ca"));
  ASSERT_TRUE(base::WriteFileAtomic(dir_ + "/ca.pem", "not a certificate\n").ok());
  o.tls = {dir_ + "/cert.pem", dir_ + "/key.pem", dir_ + "/ca.pem"};
  EXPECT_EQ(Daemon::Start(o).status(),
            InvalidArgumentError("--tls-ca " + dir_ + "/ca.pem is not a PEM certificate"));
  ASSERT_TRUE(base::WriteFileAtomic(dir_ + "/ca.pem", "-----BEGIN CERTIFICATE-----\n").ok());
  Status st = Daemon::Start(o).status();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message().rfind("cannot read --tls-cert " + dir_ + "/cert.pem: ", 0), 0u)
      << st.message();
}

}  // namespace
}  // namespace latchkey::daemon
