#include "builder/image/image_ref.h"

#include <gtest/gtest.h>

namespace latchkey::image {
namespace {

std::string Norm(const std::string& r) {
  auto p = ParseImageRef(r);
  return p.ok() ? p->ToString() : "ERR " + p.status().message();
}

TEST(ImageRef, Normalisation) {
  EXPECT_EQ(Norm("busybox"), "busybox:latest");
  EXPECT_EQ(Norm("busybox:1.36"), "busybox:1.36");
  EXPECT_EQ(Norm("localhost/busybox:1.36"), "busybox:1.36");
  EXPECT_EQ(Norm("localhost/app"), "app:latest");
  EXPECT_EQ(Norm("team/app-x_y.z:v1.0-rc"), "team/app-x_y.z:v1.0-rc");
  EXPECT_EQ(Norm("registry.example.com:5000/team/app"),
            "registry.example.com:5000/team/app:latest");
  EXPECT_EQ(Norm("registry.example.com:5000/app:2"), "registry.example.com:5000/app:2");
}

TEST(ImageRef, Errors) {
  EXPECT_EQ(Norm(""), "ERR invalid image reference \"\": it is empty");
  EXPECT_EQ(Norm("App"), "ERR invalid image reference \"App\": the name must be lowercase");
  EXPECT_EQ(Norm("app@sha256:abc"),
            "ERR invalid image reference \"app@sha256:abc\": digest references are not supported "
            "by the local store; use NAME:TAG");
  EXPECT_EQ(Norm("app:"),
            "ERR invalid image reference \"app:\": the tag must be 1 to 128 letters, digits, "
            "\"_\", \".\" or \"-\" (not starting with \".\" or \"-\")");
  EXPECT_EQ(Norm("a//b"),
            "ERR invalid image reference \"a//b\": the name must be lowercase letters and digits "
            "separated by \"/\", \".\", \"_\" or \"-\"");
  EXPECT_EQ(Norm("../x").substr(0, 3), "ERR");
  EXPECT_EQ(Norm("app:" + std::string(129, 'a')).substr(0, 3), "ERR");
}

}  // namespace
}  // namespace latchkey::image
