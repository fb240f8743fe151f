#include "registry/manifest.h"

#include <gtest/gtest.h>

namespace latchkey::registry {
namespace {

const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');
const std::string kD3 = "sha256:" + std::string(64, 'c');

std::string Desc(const std::string& mt, const std::string& d, int size,
                 const std::string& platform = "") {
  return R"({"mediaType":")" + mt + R"(","digest":")" + d + R"(","size":)" + std::to_string(size) +
         (platform.empty() ? "" : ",\"platform\":" + platform) + "}";
}

TEST(Manifest, OciImageManifest) {
  std::string body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
      Desc("application/vnd.oci.image.config.v1+json", kD1, 10) + R"(,"layers":[)" +
      Desc("application/vnd.oci.image.layer.v1.tar+gzip", kD2, 20) + "]}";
  auto m = ParseManifest(body, "", "manifest for x");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->config.digest, kD1);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 20);
}

TEST(Manifest, DockerSchema2ByContentType) {
  std::string body = R"({"schemaVersion":2,"config":)" + Desc("x", kD1, 1) + R"(,"layers":[]})";
  auto m =
      ParseManifest(body, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
                    "manifest for x");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, "application/vnd.docker.distribution.manifest.v2+json");
}

Manifest Index() {
  std::string body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[)" +
      Desc("m", kD1, 1, R"({"os":"linux","architecture":"amd64"})") + "," +
      Desc("m", kD2, 1, R"({"os":"linux","architecture":"arm64","variant":"v8"})") + "," +
      Desc("m", kD3, 1, R"({"os":"linux","architecture":"arm","variant":"v7"})") + "]}";
  auto m = ParseManifest(body, "", "manifest for x");
  EXPECT_TRUE(m.ok()) << m.status().message();
  return *m;
}

TEST(Manifest, PlatformChoice) {
  Manifest idx = Index();
  EXPECT_TRUE(idx.is_index);
  EXPECT_EQ(ChoosePlatform(idx, *ParsePlatform("linux/amd64"))->digest, kD1);
  EXPECT_EQ(ChoosePlatform(idx, *ParsePlatform("linux/arm64"))->digest, kD2);
  EXPECT_EQ(ChoosePlatform(idx, *ParsePlatform("linux/aarch64/v8"))->digest, kD2);
  EXPECT_EQ(ChoosePlatform(idx, *ParsePlatform("linux/arm/7"))->digest, kD3);
  auto miss = ChoosePlatform(idx, *ParsePlatform("linux/arm/v6"));
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.status().message(),
            "no matching manifest for linux/arm/v6 in the manifest list entries");
  miss = ChoosePlatform(idx, *ParsePlatform("windows/amd64"));
  EXPECT_EQ(miss.status().message(),
            "no matching manifest for windows/amd64 in the manifest list entries");
  EXPECT_EQ(HostPlatform().os, "linux");
}

TEST(Manifest, BadPlatform) {
  for (const char* p : {"linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"}) {
    auto r = ParsePlatform(p);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().message(), "invalid platform \"" + std::string(p) +
                                        "\": want OS/ARCH[/VARIANT], e.g. linux/amd64");
  }
}

TEST(Manifest, Limits) {
  std::string big(kMaxManifestBytes + 1, ' ');
  auto r = ParseManifest(big, "", "manifest for x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "manifest for x is larger than 4 MiB (4194305 bytes); refusing it");
  std::string layers;
  for (size_t i = 0; i < kMaxLayers + 1; ++i) layers += (i ? "," : "") + Desc("l", kD2, 1);
  r = ParseManifest(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
          Desc("c", kD1, 1) + R"(,"layers":[)" + layers + "]}",
      "", "manifest for x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "manifest for x has 1001 layers; more than 1000 is refused");
}

TEST(Manifest, Refusals) {
  auto r = ParseManifest(R"({"schemaVersion":1,"name":"x"})", "", "manifest for x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "manifest for x is a Docker schema 1 manifest, which latchkey does not pull (push the "
            "image again with a current Docker or skopeo)");
  r = ParseManifest(
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":)" +
          Desc("c", kD1, 1) + R"(,"layers":[)" +
          Desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", kD2, 1) + "]}",
      "", "manifest for x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "manifest for x: layer " + kD2 +
                ": foreign layer (application/vnd.docker.image.rootfs.foreign.diff.tar.gzip) is "
                "not distributable and is not pulled");
  r = ParseManifest(R"({"schemaVersion":2,"mediaType":"text/plain"})", "", "manifest for x");
  EXPECT_EQ(r.status().message(),
            "manifest for x has media type \"text/plain\", which is neither an image manifest "
            "nor an index");
  r = ParseManifest("{nope", "", "manifest for x");
  EXPECT_EQ(r.status().message(), "manifest for x is not valid JSON");
  r = ParseManifest(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:../../etc","size":1},"layers":[]})",
      "", "manifest for x");
  EXPECT_EQ(r.status().message(),
            "manifest for x: config.digest \"sha256:../../etc\" is not a sha256 digest");
}

}  // namespace
}  // namespace latchkey::registry
