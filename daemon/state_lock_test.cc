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

}  // namespace
}  // namespace latchkey::daemon
