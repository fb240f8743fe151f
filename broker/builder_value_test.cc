#include "broker/builder_value.h"

#include <gtest/gtest.h>

#include <string>

namespace latchkey {
namespace {

std::string Problem(std::string_view value) {
  auto v = ParseBuilderValue(value);
  EXPECT_FALSE(v.ok()) << value;
  if (v.ok()) return "";
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << value;
  return v.status().message();
}

TEST(BuilderValue, Forms) {
  auto v = ParseBuilderValue("embedded");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, BuilderKind::kEmbedded);
  EXPECT_EQ(v->engine, "");

  v = ParseBuilderValue("docker");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, BuilderKind::kDocker);
  EXPECT_EQ(v->engine, "");  // Docker's default, resolved by cli/builder_choice

  v = ParseBuilderValue("docker://unix:///var/run/docker.sock");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, BuilderKind::kDocker);
  EXPECT_EQ(v->engine, "unix:///var/run/docker.sock");

  v = ParseBuilderValue("docker://tcp://build.example:2375");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->engine, "tcp://build.example:2375");
  EXPECT_STREQ(BuilderKindName(v->kind), "docker");
  EXPECT_STREQ(BuilderKindName(BuilderKind::kEmbedded), "embedded");
}

TEST(BuilderValue, TcpDefaultsAreDockers) {
  EXPECT_EQ(*ParseEngineAddress("tcp://build.example"), "tcp://build.example:2375");
  EXPECT_EQ(*ParseEngineAddress("tcp://:2376"), "tcp://127.0.0.1:2376");
  EXPECT_EQ(*ParseEngineAddress("tcp://"), "tcp://127.0.0.1:2375");
  EXPECT_EQ(*ParseEngineAddress("tcp://[::1]:2375"), "tcp://[::1]:2375");
  EXPECT_EQ(*ParseEngineAddress("tcp://[::1]"), "tcp://[::1]:2375");
  EXPECT_EQ(*ParseEngineAddress("tcp://10.0.0.5:65535"), "tcp://10.0.0.5:65535");
}

TEST(BuilderValue, ExactErrors) {
  const std::string want_builder =
      "unknown builder (want embedded, docker or docker://unix:///path/docker.sock)";
  EXPECT_EQ(Problem("dokcer"), want_builder);
  EXPECT_EQ(Problem(""), want_builder);
  EXPECT_EQ(Problem("Docker"), want_builder);
  EXPECT_EQ(Problem("docker:"), want_builder);
  EXPECT_EQ(Problem("unix:///var/run/docker.sock"), want_builder);
  EXPECT_EQ(Problem("docker://"),
            "no Docker Engine address after docker:// (want docker://unix:///path/docker.sock or "
            "docker://tcp://HOST:PORT)");
  EXPECT_EQ(Problem("docker://https://build.example:2376"),
            "TLS connections to Docker Engine are not supported (use unix:///path/docker.sock, "
            "or tcp://HOST:PORT without TLS)");
  EXPECT_EQ(Problem("docker://ssh://me@build.example"),
            "unsupported scheme \"ssh\" (want unix:///path/docker.sock or tcp://HOST:PORT)");
  EXPECT_EQ(Problem("docker:///var/run/docker.sock"),
            "unsupported Docker Engine address (want unix:///path/docker.sock or "
            "tcp://HOST:PORT)");
  EXPECT_EQ(Problem("docker://://x"),
            "unsupported scheme \"\" (want unix:///path/docker.sock or tcp://HOST:PORT)");
  EXPECT_EQ(Problem("docker://var/run/docker.sock"),
            "unsupported Docker Engine address (want unix:///path/docker.sock or "
            "tcp://HOST:PORT)");
  EXPECT_EQ(Problem("docker://unix://var/run/docker.sock"),
            "the socket path must be absolute (unix:///path/docker.sock: three slashes)");
  EXPECT_EQ(Problem("docker://unix://"),
            "the socket path must be absolute (unix:///path/docker.sock: three slashes)");
  EXPECT_EQ(Problem("docker://unix:///" + std::string(107, 'x')),
            "the socket path is 108 bytes, longer than the 107 a unix socket address holds");
  EXPECT_EQ(Problem("docker://tcp://build.example:http"),
            "invalid port \"http\" (want 1 to 65535)");
  EXPECT_EQ(Problem("docker://tcp://build.example:0"), "invalid port \"0\" (want 1 to 65535)");
  EXPECT_EQ(Problem("docker://tcp://build.example:65536"),
            "invalid port \"65536\" (want 1 to 65535)");
  EXPECT_EQ(Problem("docker://tcp://build.example:"), "invalid port \"\" (want 1 to 65535)");
  EXPECT_EQ(Problem("docker://tcp://build.example:2375/v1.41"),
            "unexpected \"/v1.41\" after HOST:PORT (want tcp://HOST:PORT)");
  EXPECT_EQ(Problem("docker://tcp://::1:2375"), "invalid port \":1:2375\" (want 1 to 65535)");
  EXPECT_EQ(Problem("docker://tcp://[::1:2375"),
            "unexpected \"[::1:2375\" after tcp:// (want tcp://HOST:PORT, IPv6 as [::1]:2375)");
}

// The largest path a unix socket address holds is accepted.
TEST(BuilderValue, LongestSocketPath) {
  std::string path = "/" + std::string(106, 'x');
  auto v = ParseBuilderValue("docker://unix://" + path);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->engine, "unix://" + path);
}

}  // namespace
}  // namespace latchkey
