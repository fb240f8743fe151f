#include <gtest/gtest.h>

#include "builder/solver/builder.h"

namespace latchkey::build {
namespace {

TEST(ParseNamedContext, DirectoryAndOciLayout) {
  auto d = ParseNamedContext("Assets=../assets");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->name, "assets");
  EXPECT_EQ(d->kind, NamedContext::Kind::kDirectory);
  EXPECT_EQ(d->path, "../assets");

  auto o = ParseNamedContext("base=oci-layout:///srv/layout:v1");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, NamedContext::Kind::kOciLayout);
  EXPECT_EQ(o->path, "/srv/layout");
  EXPECT_EQ(o->tag, "v1");

  auto plain = ParseNamedContext("base=oci-layout://rel/dir");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->path, "rel/dir");
  EXPECT_EQ(plain->tag, "");

  auto dig = ParseNamedContext("base=oci-layout:///l@sha256:abc");
  ASSERT_TRUE(dig.ok());
  EXPECT_EQ(dig->path, "/l");
  EXPECT_EQ(dig->tag, "sha256:abc");
}

TEST(ParseNamedContext, Errors) {
  EXPECT_EQ(ParseNamedContext("nodelimiter").status().message(),
            "invalid --build-context \"nodelimiter\": want NAME=DIR or "
            "NAME=oci-layout://PATH[:TAG]");
  EXPECT_EQ(ParseNamedContext("=x").status().message(),
            "invalid --build-context \"=x\": want NAME=DIR or NAME=oci-layout://PATH[:TAG]");
  EXPECT_EQ(ParseNamedContext("a=docker-image://alpine").status().message(),
            "invalid --build-context \"a=docker-image://alpine\": docker-image:// sources are not "
            "supported (latchkey builds offline); use a directory or oci-layout://");
  EXPECT_EQ(ParseNamedContext("a=oci-layout://:tag").status().message(),
            "invalid --build-context \"a=oci-layout://:tag\": the oci-layout:// path is empty");
}

}  // namespace
}  // namespace latchkey::build
