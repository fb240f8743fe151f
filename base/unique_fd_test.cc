#include "base/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int OpenDevNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(UniqueFd, ClosesOnDestruction) {
  int raw = OpenDevNull();
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFd, DefaultHoldsNothing) {
  UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
  int raw = OpenDevNull();
  {
    UniqueFd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(IsOpen(raw));
  ::close(raw);
}

TEST(UniqueFd, ResetClosesTheOldDescriptor) {
  int a = OpenDevNull();
  int b = OpenDevNull();
  UniqueFd fd(a);
  fd.reset(b);
  EXPECT_FALSE(IsOpen(a));
  EXPECT_EQ(fd.get(), b);
  fd.reset();
  EXPECT_FALSE(IsOpen(b));
  EXPECT_FALSE(fd.valid());
}

TEST(UniqueFd, MoveTransfersOwnership) {
  int a = OpenDevNull();
  int b = OpenDevNull();
  UniqueFd x(a);
  UniqueFd y(std::move(x));
  EXPECT_FALSE(x.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is defined
  EXPECT_EQ(y.get(), a);
  UniqueFd z(b);
  z = std::move(y);  // closes b, takes a
  EXPECT_FALSE(IsOpen(b));
  EXPECT_EQ(z.get(), a);
  EXPECT_TRUE(IsOpen(a));
}

}  // namespace
}  // namespace latchkey::base
