#include "daemon/socket_activation.h"

#include <gtest/gtest.h>

namespace latchkey::daemon {
namespace {

TEST(SocketActivation, SocketsForThisPidWithTheirNames) {
  auto r = ParseActivation("42", "2", "latchkeyd.socket:extra", 42);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].fd, 3);
  EXPECT_EQ((*r)[0].name, "latchkeyd.socket");
  EXPECT_EQ((*r)[1].fd, 4);
  EXPECT_EQ((*r)[1].name, "extra");
  auto unnamed = ParseActivation("42", "1", std::nullopt, 42);
  ASSERT_TRUE(unnamed.ok());
  ASSERT_EQ(unnamed->size(), 1u);
  EXPECT_EQ((*unnamed)[0].name, "");
}

TEST(SocketActivation, NotActivatedWhenUnsetOrForAnotherProcess) {
  EXPECT_TRUE(ParseActivation(std::nullopt, "1", std::nullopt, 42)->empty());
  EXPECT_TRUE(ParseActivation("41", "1", std::nullopt, 42)->empty());
}

TEST(SocketActivation, BadVariablesAreRefusedByName) {
  EXPECT_EQ(ParseActivation("x", "1", std::nullopt, 42).status(),
            InvalidArgumentError("socket activation: LISTEN_PID=x is not a pid"));
  EXPECT_EQ(
      ParseActivation("42", "two", std::nullopt, 42).status(),
      InvalidArgumentError("socket activation: LISTEN_FDS=two is not a count of descriptors"));
  EXPECT_EQ(ParseActivation("42", std::nullopt, std::nullopt, 42).status(),
            InvalidArgumentError("socket activation: LISTEN_FDS= is not a count of descriptors"));
}

}  // namespace
}  // namespace latchkey::daemon
