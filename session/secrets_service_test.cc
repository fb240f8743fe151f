#include "session/secrets_service.h"

#include <gtest/gtest.h>

#include <vector>

#include "api/moby/sshforward/v1/ssh.grpc.pb.h"
#include "session/session_client.h"

namespace latchkey::session {
namespace {

std::shared_ptr<const SecretBuffer> Bytes(size_t n) {
  std::vector<uint8_t> v(n, 'x');
  auto b = SecretBuffer::CopyOf(v);
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

TEST(SecretsService, AddChecksIdSizeAndDuplicates) {
  SecretsService s;
  EXPECT_EQ(s.Add("", Bytes(1)), InvalidArgumentError("secret missing ID"));
  EXPECT_TRUE(s.Add("max", Bytes(kMaxSecretSize)).ok());
  EXPECT_EQ(s.Add("big", Bytes(kMaxSecretSize + 1)),
            InvalidArgumentError("secret big too big. max size 500KiB"));
  EXPECT_EQ(s.Add("max", Bytes(1)),
            AlreadyExistsError("secret max is already served by this session"));
}

TEST(SessionClient, MethodNamesComeFromTheDescriptors) {
  SecretsService s;
  moby::sshforward::v1::SSH::Service ssh;  // links ssh.proto's descriptor into this binary
  auto m = SessionClient::MethodNames(
      {{&s, "moby.buildkit.secrets.v1.Secrets"}, {&ssh, "moby.sshforward.v1.SSH"}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<std::string>{"/moby.buildkit.secrets.v1.Secrets/GetSecret",
                                          "/moby.sshforward.v1.SSH/CheckAgent",
                                          "/moby.sshforward.v1.SSH/ForwardAgent"}));
}

}  // namespace
}  // namespace latchkey::session
