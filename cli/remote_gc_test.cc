#include "cli/remote_gc.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <future>
#include <optional>
#include <thread>

#include "builder/solver/store_gc.h"
#include "daemon/daemon_testutil.h"

namespace latchkey::cli {
namespace {

TEST(RemoteGc, StateDirIsRefusedWithADaemonOnly) {
  EXPECT_TRUE(CheckNoStateDir("/x", HostChoice{}).ok());
  EXPECT_TRUE(CheckNoStateDir("", HostChoice{"unix:///run/l.sock", ""}).ok());
  Status st = CheckNoStateDir("/x", HostChoice{"unix:///run/l.sock", ""});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "--state-dir applies to embedded mode: latchkeyd at unix:///run/l.sock uses its own "
            "state directory (drop --state-dir, or add --host embedded)");
  st = CheckNoStateDir("/x", HostChoice{"unix:///run/l.sock", "host: in /etc/l.yaml:2:7"});
  EXPECT_EQ(st.message(),
            "--state-dir applies to embedded mode: latchkeyd at unix:///run/l.sock (host: in "
            "/etc/l.yaml:2:7) uses its own state directory (drop --state-dir, or add --host "
            "embedded)");
}

TEST(RemoteGc, AnUnreachableDaemonIsNamed) {
  auto du = DaemonDiskUsage(HostChoice{"unix:///nonexistent/l.sock", ""});
  EXPECT_EQ(du.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(du.status().message(),
            "cannot reach latchkeyd at unix:///nonexistent/l.sock: No such file or directory");
  auto pr = DaemonPrune(HostChoice{"tcp://x:1", ""}, {});
  EXPECT_EQ(pr.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pr.status().message(), "invalid --host tcp://x:1: want unix:///absolute/path");
}

TEST(RemoteGc, DiskUsageAndPruneThroughARealDaemon) {
  daemon::TestDaemon d;
  HostChoice host{d.target(), ""};
  auto du = DaemonDiskUsage(host);
  ASSERT_TRUE(du.ok()) << du.status().ToString();
  EXPECT_EQ(du->state_dir, d.images().state_dir());
  EXPECT_FALSE(du->usage.lines.empty());
  latchkey::v1::PruneRequest bad;
  bad.add_filters("foo=1");
  auto refused = DaemonPrune(host, bad);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "invalid filter 'foo'");

  // A build holds the state dir: the client says it waits, as embedded mode does, and the
  // prune runs once the build ends.
  auto lock = build::StoreUseLock::Shared(d.images().state_dir());
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  std::optional<build::StoreUseLock> held(std::move(*lock));
  std::promise<std::string> waiting;
  Result<build::GcReport> report = InternalError("not run");
  std::thread prune([&] {
    latchkey::v1::PruneRequest req;
    req.set_all(true);
    bool told = false;
    report = DaemonPrune(host, req, [&](const std::string& dir) {
      told = true;
      waiting.set_value(dir);
    });
    if (!told) waiting.set_value("never waited: " + report.status().ToString());
  });
  // Released only once the client was told the state dir is in use: the prune that runs is
  // the waiting call.
  EXPECT_EQ(waiting.get_future().get(), d.images().state_dir());
  held.reset();
  prune.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
}

}  // namespace
}  // namespace latchkey::cli
