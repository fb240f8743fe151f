#include "builder/solver/step_mounts.h"

#include <gtest/gtest.h>

#include <string>

#include "builder/executor/mount_spec_testutil.h"

namespace latchkey::build {
namespace {

using executor::BindMount;
using executor::CacheMount;
using executor::CacheSharing;
using executor::SecretMount;
using executor::SshMount;
using executor::StepMount;
using executor::TmpfsMount;

// One --mount value as the frontend parses it (no variables).
frontend::MountSpec Parse(const std::string& value) {
  auto m = frontend::ParseMountValue(
      value, [](std::string_view w) -> Result<std::string> { return std::string(w); });
  EXPECT_TRUE(m.ok()) << value << ": " << m.status().ToString();
  return m.ok() ? *m : frontend::MountSpec();
}

// The same, converted for WORKDIR `workdir`.
StepMount Convert(const std::string& value, const std::string& workdir = "/") {
  return ToStepMount(Parse(value), workdir);
}

TEST(StepMounts, SecretDefaultsAreBuildKits) {
  EXPECT_EQ(Convert("type=secret,id=npmrc"),
            StepMount(SecretMount{.id = "npmrc", .target = "/run/secrets/npmrc", .mode = 0400}));
  EXPECT_EQ(
      Convert("type=secret,id=k,required,mode=0500,uid=7,gid=8,target=etc/k", "/w"),
      StepMount(SecretMount{
          .id = "k", .target = "/etc/k", .required = true, .mode = 0500, .uid = 7, .gid = 8}));
}

TEST(StepMounts, EnvOnlySecretHasNoTarget) {
  EXPECT_EQ(Convert("type=secret,id=tok,env=TOKEN"),
            StepMount(SecretMount{.id = "tok", .env = "TOKEN"}));
  EXPECT_EQ(Convert("type=secret,id=tok,env=TOKEN,target=/t"),
            StepMount(SecretMount{.id = "tok", .target = "/t", .env = "TOKEN"}));
}

TEST(StepMounts, SshDefaults) {
  EXPECT_EQ(Convert("type=ssh"), StepMount(SshMount{.target = "/run/buildkit/ssh_agent.0"}));
  EXPECT_EQ(Convert("type=ssh,id=deploy,required,uid=100,mode=0640"),
            StepMount(SshMount{.id = "deploy",
                               .target = "/run/buildkit/ssh_agent.0",
                               .required = true,
                               .mode = 0640,
                               .uid = 100}));
}

TEST(StepMounts, RelativeTargetsJoinTheWorkdir) {
  EXPECT_EQ(Convert("type=bind,source=sub,target=src", "/app"),
            StepMount(BindMount{.target = "/app/src", .source = "sub"}));
  EXPECT_EQ(Convert("type=bind,from=builder,target=../out,rw", "/app/x"),
            StepMount(BindMount{.target = "/app/out", .from = "builder", .readonly = false}));
  EXPECT_EQ(Convert("type=tmpfs,target=t,size=1m", ""),
            StepMount(TmpfsMount{.target = "/t", .size_bytes = 1 << 20}));
  EXPECT_EQ(Convert("type=tmpfs,target=/t"), StepMount(TmpfsMount{.target = "/t"}));
}

TEST(StepMounts, CacheModeSharingAndId) {
  EXPECT_EQ(Convert("type=cache,target=/root/.cache"),
            StepMount(CacheMount{.id = "/root/.cache", .target = "/root/.cache", .mode = 0755}));
  EXPECT_EQ(Convert("type=cache,id=c1,target=c,sharing=locked,uid=1,gid=2,mode=0750,ro", "/w"),
            StepMount(CacheMount{.id = "c1",
                                 .target = "/w/c",
                                 .readonly = true,
                                 .sharing = CacheSharing::kLocked,
                                 .mode = 0750,
                                 .uid = 1,
                                 .gid = 2}));
  EXPECT_EQ(Convert("type=cache,target=/c,sharing=private,from=base"),
            StepMount(CacheMount{
                .id = "/c", .target = "/c", .from = "base", .sharing = CacheSharing::kPrivate}));
}

TEST(StepMounts, ManyKeepTheirOrder) {
  EXPECT_EQ(ToStepMounts({Parse("type=tmpfs,target=/a"), Parse("type=secret,id=b")}, "/"),
            (std::vector<StepMount>{TmpfsMount{.target = "/a"},
                                    SecretMount{.id = "b", .target = "/run/secrets/b"}}));
}

}  // namespace
}  // namespace latchkey::build
