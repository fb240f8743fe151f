#include "builder/image/image_ref.h"

#include <gtest/gtest.h>

namespace latchkey::image {
namespace {

std::string Norm(const std::string& r) {
  auto p = ParseImageRef(r);
  return p.ok() ? p->ToString() + " " + p->FullString() : "ERR " + p.status().message();
}

TEST(ImageRef, Normalisation) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"busybox", "busybox:latest docker.io/library/busybox:latest"},
      {"busybox:1.36", "busybox:1.36 docker.io/library/busybox:1.36"},
      {"docker.io/library/debian:bookworm", "debian:bookworm docker.io/library/debian:bookworm"},
      {"index.docker.io/library/debian", "debian:latest docker.io/library/debian:latest"},
      {"localhost/busybox:1.36", "busybox:1.36 docker.io/library/busybox:1.36"},
      {"localhost/app", "app:latest docker.io/library/app:latest"},
      {"team/app-x_y.z:v1.0-rc", "team/app-x_y.z:v1.0-rc docker.io/team/app-x_y.z:v1.0-rc"},
      {"registry.example.com:5000/team/app",
       "registry.example.com:5000/team/app:latest registry.example.com:5000/team/app:latest"},
      {"localhost:5000/app:2", "localhost:5000/app:2 localhost:5000/app:2"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(Norm(in), want) << in;
}

TEST(ImageRef, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "ERR \"\" is not a valid repository/tag: invalid reference format"},
      {"App",
       "ERR \"App\" is not a valid repository/tag: invalid reference format: repository name "
       "must be lowercase"},
      {"app@sha256:" + std::string(64, 'a'),
       "ERR \"app@sha256:" + std::string(64, 'a') +
           "\" is not a valid repository/tag: digest references are not supported by the local "
           "store; use NAME:TAG"},
      {"app:", "ERR \"app:\" is not a valid repository/tag: invalid reference format"},
      {"a//b", "ERR \"a//b\" is not a valid repository/tag: invalid reference format"},
      {"../x", "ERR \"../x\" is not a valid repository/tag: invalid reference format"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(Norm(in), want) << in;
}

}  // namespace
}  // namespace latchkey::image
