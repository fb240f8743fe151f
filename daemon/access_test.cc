// AccessControl's decisions and refusal text; RefusalServer's answer over a real socket.
#include "daemon/access.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/create_channel_posix.h>

#include "api/latchkey/v1/control.grpc.pb.h"

namespace latchkey::daemon {
namespace {

constexpr uid_t kSelf = 4242;

TEST(AccessControl, EveryoneWhenNothingIsConfigured) {
  AccessControl a({}, kSelf);
  EXPECT_EQ(a.Refusal({1000, 1000, 1}), std::nullopt);
}

TEST(AccessControl, ListedUidsAndGroupsAndTheDaemonsOwnUid) {
  DaemonConfig c;
  c.allowed_uids = {0, 5};
  c.allowed_groups = {"nogroup", "no-such-group-here"};
  AccessControl a(c, kSelf);
  EXPECT_EQ(a.Refusal({0, 0, 1}), std::nullopt);
  EXPECT_EQ(a.Refusal({5, 5, 1}), std::nullopt);
  EXPECT_EQ(a.Refusal({kSelf, 1, 1}), std::nullopt);
  // nobody's primary group is nogroup (65534): by its SO_PEERCRED gid, and by its user's
  // groups when the connection's gid is another one.
  EXPECT_EQ(a.Refusal({65534, 65534, 1}), std::nullopt);
  EXPECT_EQ(a.Refusal({65534, 7, 1}), std::nullopt);
  EXPECT_EQ(a.Refusal({1000, 1000, 1}),
            "uid 1000 may not use latchkeyd (allowed: uid 0, uid 5, group nogroup, group "
            "no-such-group-here)");
}

TEST(AccessControl, TheIssuesExactTextAndReload) {
  DaemonConfig c;
  c.allowed_groups = {"latchkey"};
  AccessControl a(c, kSelf);
  EXPECT_EQ(a.Refusal({1000, 1000, 1}), "uid 1000 may not use latchkeyd (allowed: group latchkey)");
  c.allowed_uids = {1000};
  a.Set(c);
  EXPECT_EQ(a.Refusal({1000, 1000, 1}), std::nullopt);
}

TEST(RefusalServer, EveryCallOfARefusedConnectionIsPermissionDenied) {
  auto server = RefusalServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
  (*server)->Refuse(sv[0], "uid 1000 may not use latchkeyd (allowed: group latchkey)");
  auto channel = grpc::CreateInsecureChannelFromFd("refused", sv[1]);
  auto stub = latchkey::v1::Control::NewStub(channel);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    latchkey::v1::InfoResponse info;
    grpc::Status st = stub->Info(&ctx, {}, &info);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(st.error_message(), "uid 1000 may not use latchkeyd (allowed: group latchkey)");
  }
  (*server)->Shutdown();
}

}  // namespace
}  // namespace latchkey::daemon
