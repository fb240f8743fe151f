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
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,level=3").status().message(),
            "invalid -o \"type=oci,dest=x,level=3\": unknown key \"level\" (want type, dest, "
            "name, compression, compression-level or force-compression)");
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
            "invalid -o \"type=image,compression=zstd\": compression applies to the oci and "
            "oci-layout types and to pushed images (push=true) only");
  EXPECT_EQ(ParseBuildOutputSpec("type=image,bogus=1").status().message(),
            "invalid -o \"type=image,bogus=1\": unknown key \"bogus\" (want type, dest, name, "
            "push, compression, compression-level or force-compression)");
  // `latchkey image export` has no image or registry type.
  EXPECT_EQ(ParseExportSpec("type=image,name=a:1").status().message(),
            "invalid -o \"type=image,name=a:1\": unknown type \"image\" (want oci, oci-layout or "
            "local)");
}

TEST(ExportSpec, CompressionKeys) {
  auto d = ParseExportSpec("type=oci,dest=x");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->compression.compression, Compression::kGzip);
  EXPECT_EQ(d->compression.level, -1);
  EXPECT_FALSE(d->compression.force);
  auto z = ParseExportSpec(
      "type=oci-layout,dest=x,compression=zstd,compression-level=12,"
      "force-compression=true");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->compression.compression, Compression::kZstd);
  EXPECT_EQ(z->compression.level, 12);
  EXPECT_TRUE(z->compression.force);
  auto g = ParseExportSpec("type=oci,dest=x,compression-level=1,compression=gzip");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->compression.level, 1);
  auto u = ParseExportSpec("type=oci,dest=x,compression=uncompressed,force-compression=0");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->compression.compression, Compression::kUncompressed);
}

TEST(ExportSpec, CompressionErrors) {
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,compression=lz4").status().message(),
            "invalid -o \"type=oci,dest=x,compression=lz4\": unsupported compression type lz4");
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,compression-level=x").status().message(),
            "invalid -o \"type=oci,dest=x,compression-level=x\": non-int value x specified for "
            "compression-level");
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,compression-level=").status().message(),
            "invalid -o \"type=oci,dest=x,compression-level=\": non-int value  specified for "
            "compression-level");
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,compression-level=12").status().message(),
            "invalid -o \"type=oci,dest=x,compression-level=12\": compression-level 12 is out of "
            "range for gzip (0..9)");
  EXPECT_EQ(
      ParseExportSpec("type=oci,dest=x,compression=zstd,compression-level=0").status().message(),
      "invalid -o \"type=oci,dest=x,compression=zstd,compression-level=0\": "
      "compression-level 0 is out of range for zstd (1..19)");
  EXPECT_EQ(ParseExportSpec("type=oci,dest=x,force-compression=maybe").status().message(),
            "invalid -o \"type=oci,dest=x,force-compression=maybe\": non-bool value maybe "
            "specified for force-compression");
  EXPECT_EQ(ParseExportSpec("type=local,dest=d,compression=zstd").status().message(),
            "invalid -o \"type=local,dest=d,compression=zstd\": compression applies to the oci "
            "and oci-layout types and to pushed images (push=true) only");
  EXPECT_EQ(ParseBuildOutputSpec("type=registry,name=r.test/a:1,compression=gzip,"
                                 "compression-level=10")
                .status()
                .message(),
            "invalid -o \"type=registry,name=r.test/a:1,compression=gzip,compression-level=10\": "
            "compression-level 10 is out of range for gzip (0..9)");
}

// buildx's keys shape what a push sends: type=image,push=true and type=registry take them.
TEST(ExportSpec, PushedImagesTakeCompression) {
  auto z = ParseBuildOutputSpec(
      "type=image,name=r.test/a:1,push=true,compression=zstd,compression-level=5,"
      "force-compression=true");
  ASSERT_TRUE(z.ok()) << z.status().message();
  EXPECT_TRUE(z->push);
  EXPECT_EQ(z->compression.compression, Compression::kZstd);
  EXPECT_EQ(z->compression.level, 5);
  EXPECT_TRUE(z->compression.force);
  auto r = ParseBuildOutputSpec("compression=uncompressed,type=registry,name=r.test/a:1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->push);
  EXPECT_EQ(r->compression.compression, Compression::kUncompressed);
  // push=false written after the compression key still refuses it.
  EXPECT_EQ(ParseBuildOutputSpec("type=image,compression=zstd,push=false").status().message(),
            "invalid -o \"type=image,compression=zstd,push=false\": compression applies to the "
            "oci and oci-layout types and to pushed images (push=true) only");
}

TEST(HumanSize, DockerStyle) {
  EXPECT_EQ(HumanSize(512), "512B");
  EXPECT_EQ(HumanSize(1090000), "1.09MB");
  EXPECT_EQ(HumanSize(999999), "1MB");
  EXPECT_EQ(HumanSize(1500), "1.5kB");
}

}  // namespace
}  // namespace latchkey::image
