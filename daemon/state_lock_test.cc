#include "daemon/state_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/file.h"

namespace latchkey::daemon {
namespace {

TEST(StateDirLock, SecondHolderIsRefusedWithTheFirstOnesPid) {
  auto dir = base::MakeTempDir("/tmp", "state-lock-test-");
  ASSERT_TRUE(dir.ok());
  {
    auto first = StateDirLock::Acquire(*dir);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto pid = base::ReadFile(StateDirLock::LockPath(*dir));
    ASSERT_TRUE(pid.ok());
    EXPECT_EQ(*pid, std::to_string(::getpid()) + "\n");
    EXPECT_EQ(StateDirLock::Acquire(*dir).status(),
              FailedPreconditionError("state directory " + *dir + " is in use by latchkeyd pid " +
                                      std::to_string(::getpid()) + " (lock file " + *dir +
                                      "/latchkeyd.lock); stop it or use another --state-dir"));
  }
  // Released with its holder.
  EXPECT_TRUE(StateDirLock::Acquire(*dir).ok());
  (void)base::RemoveAll(*dir);
}

TEST(StateDirLock, APidLeftInTheFileNamesADaemonThatDied) {
  auto dir = base::MakeTempDir("/tmp", "state-lock-test-");
  ASSERT_TRUE(dir.ok());
  {
    auto first = StateDirLock::Acquire(*dir);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->previous_pid(), 0);
    // Dropped without MarkStopped: as after kill -9.
  }
  {
    auto second = StateDirLock::Acquire(*dir);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->previous_pid(), ::getpid());
    ASSERT_TRUE(second->MarkStopped().ok());
  }
  auto third = StateDirLock::Acquire(*dir);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->previous_pid(), 0);
  (void)base::RemoveAll(*dir);
}

}  // namespace
}  // namespace latchkey::daemon
