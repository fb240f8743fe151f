#include "daemon/running_builds.h"

#include <gtest/gtest.h>

namespace latchkey::daemon {
namespace {

std::shared_ptr<executor::CancelToken> Token() {
  auto t = executor::CancelToken::Create();
  if (!t.ok()) std::abort();
  return *t;
}

TEST(RunningBuilds, CancelAllCancelsTheRegisteredBuildsOnly) {
  RunningBuilds running;
  auto a = Token(), b = Token(), done = Token();
  auto ra = running.Add(a.get());
  auto rb = running.Add(b.get());
  { auto rdone = running.Add(done.get()); }  // a build that ended
  EXPECT_EQ(running.size(), 2u);
  running.CancelAll();
  EXPECT_TRUE(a->cancelled());
  EXPECT_TRUE(b->cancelled());
  EXPECT_FALSE(done->cancelled());
}

TEST(RunningBuilds, ABuildStartingAfterCancelAllIsCancelledAtOnce) {
  RunningBuilds running;
  EXPECT_FALSE(running.stopping());
  running.CancelAll();
  EXPECT_TRUE(running.stopping());
  auto late = Token();
  auto r = running.Add(late.get());
  EXPECT_TRUE(late->cancelled());
  EXPECT_EQ(running.size(), 1u);
  r.reset();
  EXPECT_EQ(running.size(), 0u);
}

}  // namespace
}  // namespace latchkey::daemon
