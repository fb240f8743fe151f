#include "base/poll_watcher.h"

#include <gtest/gtest.h>

#include <atomic>

namespace latchkey::base {
namespace {

TEST(PollWatcher, RunsTheActionOnceWhenTheConditionHolds) {
  std::atomic<bool> flag{false};
  std::atomic<int> runs{0};
  {
    PollWatcher w(
        std::chrono::milliseconds(1), [&] { return flag.load(); }, [&] { ++runs; });
    flag = true;
    for (int i = 0; i < 5000 && runs == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(runs, 1);
}

TEST(PollWatcher, DestroyedBeforeTheConditionHoldsRunsNothing) {
  std::atomic<int> runs{0};
  {
    PollWatcher w(
        std::chrono::hours(1), [] { return false; }, [&] { ++runs; });
  }
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace latchkey::base
