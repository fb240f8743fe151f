#include "builder/executor/overlay_volatile.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/errno_status.h"

namespace latchkey::executor {
namespace {

// Records each mount's options; refuses options containing `refuse` with `refusal_errno`.
class ScriptedMounter : public Mounter {
 public:
  std::string refuse;
  int refusal_errno = EINVAL;
  std::vector<std::string> calls;
  Status Mount(const std::string& fstype, const std::string& target, unsigned long,
               const std::string& data) override {
    calls.push_back(data);
    if (!refuse.empty() && data.find(refuse) != std::string::npos) {
      return base::ErrnoStatus("mount " + fstype + " on", target, refusal_errno);
    }
    return Status::OK();
  }
  Status Unmount(const std::string&) override { return Status::OK(); }
};

const std::string kOpts = "lowerdir=/l,upperdir=/u,workdir=/w";

TEST(MountWritableOverlay, AddsVolatileAndRemembersThatTheKernelTakesIt) {
  ScriptedMounter m;
  VolatileSupport support;
  ASSERT_TRUE(MountWritableOverlay(m, "/t", 0, kOpts, support).ok());
  EXPECT_EQ(m.calls, std::vector<std::string>{kOpts + ",volatile"});
  EXPECT_EQ(support.state(), VolatileSupport::State::kSupported);
}

TEST(MountWritableOverlay, FallsBackOnceWhenTheKernelRefusesVolatileThenStopsTryingIt) {
  ScriptedMounter m;
  m.refuse = "volatile";
  VolatileSupport support;
  ASSERT_TRUE(MountWritableOverlay(m, "/t", 0, kOpts, support).ok());
  EXPECT_EQ(support.state(), VolatileSupport::State::kUnsupported);
  ASSERT_TRUE(MountWritableOverlay(m, "/t2", 0, kOpts, support).ok());
  EXPECT_EQ(m.calls, (std::vector<std::string>{kOpts + ",volatile", kOpts, kOpts}));
}

TEST(MountWritableOverlay, OtherFailuresAreReturnedWithoutARetry) {
  ScriptedMounter m;
  m.refuse = "lowerdir";
  m.refusal_errno = EPERM;
  VolatileSupport support;
  Status st = MountWritableOverlay(m, "/t", 0, kOpts, support);
  EXPECT_EQ(st.message(), "mount overlay on /t: Operation not permitted");
  EXPECT_EQ(m.calls, std::vector<std::string>{kOpts + ",volatile"});
  EXPECT_EQ(support.state(), VolatileSupport::State::kUnknown);
}

TEST(MountWritableOverlay, BadOptionsFailWithoutAndLearnNothing) {
  ScriptedMounter m;
  m.refuse = "lowerdir";  // EINVAL with and without volatile: not about volatile
  VolatileSupport support;
  Status st = MountWritableOverlay(m, "/t", 0, kOpts, support);
  EXPECT_EQ(st.message(), "mount overlay on /t: Invalid argument");
  EXPECT_EQ(m.calls, (std::vector<std::string>{kOpts + ",volatile", kOpts}));
  EXPECT_EQ(support.state(), VolatileSupport::State::kUnknown);
}

TEST(MountWritableOverlay, AKnownKernelIsNotProbedAgain) {
  ScriptedMounter m;
  m.refuse = "volatile";
  VolatileSupport support;
  support.Set(VolatileSupport::State::kSupported);
  Status st = MountWritableOverlay(m, "/t", 0, kOpts, support);
  EXPECT_EQ(st.message(), "mount overlay on /t: Invalid argument");
  EXPECT_EQ(m.calls, std::vector<std::string>{kOpts + ",volatile"});
  EXPECT_EQ(support.state(), VolatileSupport::State::kSupported);
}

}  // namespace
}  // namespace latchkey::executor
