#include "builder/executor/cancel.h"

#include <poll.h>

#include <thread>

#include <gtest/gtest.h>

namespace latchkey::executor {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(CancelToken, CancelsOnlyTheThreadInItsScope) {
  auto a = CancelToken::Create();
  auto b = CancelToken::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  CancelScope scope(a->get());
  EXPECT_EQ(CancelPollFd(), (*a)->poll_fd());
  EXPECT_FALSE(Readable(CancelPollFd()));
  bool other_saw = true;
  std::thread other([&] {
    CancelScope in_b(b->get());
    (*a)->Cancel();
    other_saw = CancelRequested();  // b's build is not cancelled by a's token
  });
  other.join();
  EXPECT_FALSE(other_saw);
  EXPECT_TRUE(CancelRequested());
  EXPECT_TRUE(Readable(CancelPollFd()));
  EXPECT_FALSE((*b)->cancelled());
  (*a)->Cancel();  // idempotent
  EXPECT_TRUE((*a)->flag().load());
}

TEST(CancelToken, NoScopeMeansTheProcessFlagOnly) {
  auto a = CancelToken::Create();
  ASSERT_TRUE(a.ok());
  (*a)->Cancel();
  EXPECT_FALSE(CancelRequested());
}

}  // namespace
}  // namespace latchkey::executor
