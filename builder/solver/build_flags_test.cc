#include "builder/solver/build_flags.h"

#include <gtest/gtest.h>

namespace latchkey::build {
namespace {

TEST(BuildFlags, PlatformNativeOnly) {
  const std::string native = NativePlatform();
  ASSERT_EQ(native, "linux/amd64") << "these cases assume an x86-64 host";
  for (const char* ok : {"linux/amd64", "amd64", "linux/x86_64", "local", "Linux/AMD64",
                         "linux/amd64/v1", "linux/amd64,linux/amd64"}) {
    auto r = ParsePlatforms({ok});
    ASSERT_TRUE(r.ok()) << ok << ": " << r.status().message();
    EXPECT_EQ(*r, "linux/amd64");
  }
  EXPECT_EQ(*ParsePlatforms({}), "linux/amd64");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"linux/arm64", "no emulation for linux/arm64 on this host"},
      {"linux/aarch64", "no emulation for linux/arm64 on this host"},
      {"linux/amd64,linux/arm/v7", "no emulation for linux/arm/v7 on this host"},
      {"windows/amd64", "no emulation for windows/amd64 on this host"},
  };
  for (const auto& [in, want] : bad) {
    auto r = ParsePlatforms({in});
    ASSERT_FALSE(r.ok()) << in;
    EXPECT_EQ(r.status().message(), want);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  }
}

TEST(BuildFlags, AddHost) {
  EXPECT_EQ(*ParseAddHost("db:10.0.0.5"), (executor::ExtraHost{"db", "10.0.0.5"}));
  EXPECT_EQ(*ParseAddHost("db=10.0.0.5"), (executor::ExtraHost{"db", "10.0.0.5"}));
  EXPECT_EQ(*ParseAddHost("v6=::1"), (executor::ExtraHost{"v6", "::1"}));
  EXPECT_EQ(*ParseAddHost("v6:::1"), (executor::ExtraHost{"v6", "::1"}));
  for (const char* bad : {"nohost", "db:", ":1.2.3.4", "db:1.2.3", "db:notanip"}) {
    EXPECT_EQ(ParseAddHost(bad).status().message(), std::string("invalid host ") + bad);
  }
  EXPECT_EQ(ParseAddHost("gw:host-gateway").status().message(),
            "invalid host gw:host-gateway: host-gateway is not supported (RUN steps use the "
            "host's network, where the host is 127.0.0.1)");
}

TEST(BuildFlags, ShmSize) {
  EXPECT_EQ(*ParseShmSize("1048576"), 1048576);
  EXPECT_EQ(*ParseShmSize("64m"), 64 << 20);
  EXPECT_EQ(*ParseShmSize("128MiB"), 128 << 20);
  EXPECT_EQ(*ParseShmSize("1g"), int64_t{1} << 30);
  EXPECT_EQ(*ParseShmSize("1.5 k"), 1536);
  EXPECT_EQ(*ParseShmSize("2kb"), 2048);
  for (const char* bad : {"", "m", "64x", "-1", "1..5m", "64mm"}) {
    EXPECT_EQ(ParseShmSize(bad).status().message(), std::string("invalid size: '") + bad + "'");
  }
}

TEST(BuildFlags, Ulimit) {
  EXPECT_EQ(*ParseUlimit("nofile=1024:2048"), (executor::Rlimit{"RLIMIT_NOFILE", 1024, 2048}));
  EXPECT_EQ(*ParseUlimit("nproc=512"), (executor::Rlimit{"RLIMIT_NPROC", 512, 512}));
  EXPECT_EQ(*ParseUlimit("core=-1"), (executor::Rlimit{"RLIMIT_CORE", UINT64_MAX, UINT64_MAX}));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"nofile", "invalid ulimit argument: nofile"},
      {"nofile=a", "invalid ulimit argument: nofile=a"},
      {"bogus=1", "invalid ulimit type: bogus"},
      {"nofile=1:2:3",
       "too many limit value arguments - 1:2:3, can only have up to two, "
       "`soft[:hard]`"},
      {"nofile=2048:1024",
       "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"},
  };
  for (const auto& [in, want] : bad) EXPECT_EQ(ParseUlimit(in).status().message(), want) << in;
}

}  // namespace
}  // namespace latchkey::build
