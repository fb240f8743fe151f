#include "builder/image/export_spec.h"

#include <gtest/gtest.h>

namespace latchkey::image {
namespace {

TEST(ExportSpec, ParsesTheThreeTypes) {
  auto a = ParseExportSpec("type=oci,dest=out.tar");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, ExportType::kOciArchive);
  EXPECT_EQ(a->dest, "out.tar");
  auto b = ParseExportSpec("dest=/x/y,type=oci-layout,name=v1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->type, ExportType::kOciLayout);
  EXPECT_EQ(b->name.FullString(), "docker.io/library/v1:latest");
  auto n = ParseExportSpec("type=oci,dest=x,name=docker.io/library/app:dev");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->name.ToString(), "app:dev");
  auto c = ParseExportSpec("type=local,dest=rootfs");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, ExportType::kLocal);
}

TEST(ExportSpec, Errors) {
  EXPECT_EQ(ParseExportSpec("type=zip,dest=x").status().message(),
            "invalid -o \"type=zip,dest=x\": unknown type \"zip\" (want oci, oci-layout or local)");
  EXPECT_EQ(ParseExportSpec("dest=x").status().message(),
            "invalid -o \"dest=x\": missing type= (want type=oci,dest=FILE.tar, "
            "type=oci-layout,dest=DIR or type=local,dest=DIR)");
  EXPECT_EQ(ParseExportSpec("type=oci").status().message(),
            "invalid -o \"type=oci\": missing dest=");
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,compression=zstd").status().message(),
            "invalid -o \"type=oci,dest=x,compression=zstd\": unknown key \"compression\" (want "
            "type, dest or name)");
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,name=App").status().message(),
            "invalid -o \"type=oci,dest=x,name=App\": \"App\" is not a valid repository/tag: "
            "invalid reference format: repository name must be lowercase");
  EXPECT_EQ(ParseExportSpec("oci").status().message(),
            "invalid -o \"oci\": \"oci\" is not key=value");
}

TEST(ExportSpec, BuildOutputsAddImageAndRegistry) {
  auto a = ParseBuildOutputSpec("type=image,name=127.0.0.1:5000/team/app:1,push=true");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->type, ExportType::kImage);
  EXPECT_TRUE(a->push);
  EXPECT_EQ(a->name.FullString(), "127.0.0.1:5000/team/app:1");
  auto b = ParseBuildOutputSpec("type=image,name=app:2");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->push);
  auto c = ParseBuildOutputSpec("type=registry");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->push);
  EXPECT_TRUE(c->name.name.empty());
  auto d = ParseBuildOutputSpec("type=oci,dest=x.tar");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, ExportType::kOciArchive);
  EXPECT_EQ(ParseBuildOutputSpec("type=zip,dest=x").status().message(),
            "invalid -o \"type=zip,dest=x\": unknown type \"zip\" (want oci, oci-layout, local, "
            "image or registry)");
  EXPECT_EQ(ParseBuildOutputSpec("type=image,push=1").status().message(),
            "invalid -o \"type=image,push=1\": push=\"1\" is not a boolean (want true or false)");
  EXPECT_EQ(ParseBuildOutputSpec("type=oci,dest=x,push=true").status().message(),
            "invalid -o \"type=oci,dest=x,push=true\": push= is only for type=image or "
            "type=registry");
  EXPECT_EQ(ParseBuildOutputSpec("type=image,compression=zstd").status().message(),
            "invalid -o \"type=image,compression=zstd\": unknown key \"compression\" (want type, "
            "dest, name or push)");
  // `latchkey image export` has no image or registry type.
  EXPECT_EQ(ParseExportSpec("type=image,name=a:1").status().message(),
            "invalid -o \"type=image,name=a:1\": unknown type \"image\" (want oci, oci-layout or "
            "local)");
}

TEST(HumanSize, DockerStyle) {
  EXPECT_EQ(HumanSize(512), "512B");
  EXPECT_EQ(HumanSize(1090000), "1.09MB");
  EXPECT_EQ(HumanSize(999999), "1MB");
  EXPECT_EQ(HumanSize(1500), "1.5kB");
}

}  // namespace
}  // namespace latchkey::image
