#include "builder/image/image_import.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "builder/image/config_json.h"
#include "builder/image/media_types.h"
#include "builder/image/test_util.h"

namespace latchkey::image {
namespace {

using testing::F;
using testing::ReadText;
using testing::ScratchDir;
using testing::TarEntry;
using testing::WriteTar;
using testing::WriteText;

// A one-layer image (an uncompressed layer holding etc/hello) committed into `blobs`.
Image OneLayerImage(const ScratchDir& d, BlobStore& blobs, const std::string& text = "hi") {
  WriteTar(d / "layer.tar", {F("etc/hello", text)});
  auto b = blobs.PutFile(d / "layer.tar");
  LayerDescriptor l;
  l.media_type = kMediaTypeLayerTar;
  l.digest = b->digest;
  l.size = b->size;
  l.diff_id = b->digest;
  frontend::ImageConfig c = frontend::ImageConfig::Scratch();
  c.created = "1970-01-01T00:00:00Z";
  auto img = CommitImage(c, {l}, blobs);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  return *img;
}

TEST(ImageImport, OciLayoutByRefNameImageNameOrAlone) {
  ScratchDir d;
  auto src = BlobStore::Open(d / "src");
  auto dst = BlobStore::Open(d / "dst");
  ASSERT_TRUE(src.ok() && dst.ok());
  Image img = OneLayerImage(d, *src);
  ASSERT_TRUE(WriteOciLayout(*src, img, d / "layout", "dev", "docker.io/library/app:dev").ok());
  auto idx = ReadIndex(d / "layout");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ((*idx)[0].annotations.at(kAnnotationImageName), "docker.io/library/app:dev");
  EXPECT_EQ((*idx)[0].ref_name, "dev");

  for (const char* tag : {"", "dev", "app:dev", "docker.io/library/app:dev"}) {
    auto r = ImportOciLayout(*dst, d / "layout", tag);
    ASSERT_TRUE(r.ok()) << tag << ": " << r.status().ToString();
    EXPECT_EQ(r->name, "app:dev");
    EXPECT_EQ(r->image.manifest_digest, img.manifest_digest);
    EXPECT_EQ(r->image.config_digest, img.config_digest);
    EXPECT_TRUE(dst->Has(img.layers[0].digest));
  }
  ASSERT_TRUE(WriteOciLayout(*src, img, d / "layout", "latest").ok());
  EXPECT_EQ(ImportOciLayout(*dst, d / "layout", "").status().message(),
            "OCI layout " + (d / "layout") + " holds 2 images (dev, latest); choose one with " +
                (d / "layout") + ":TAG");
  auto latest = ImportOciLayout(*dst, d / "layout", "latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->name, "");
  EXPECT_EQ(ImportOciLayout(*dst, d / "layout", "v9").status().message(),
            "OCI layout " + (d / "layout") + " has no image \"v9\" (it has: dev, latest)");
}

TEST(ImageImport, OciLayoutErrors) {
  ScratchDir d;
  auto src = BlobStore::Open(d / "src");
  auto dst = BlobStore::Open(d / "dst");
  Image img = OneLayerImage(d, *src);
  EXPECT_EQ(ImportOciLayout(*dst, d / "nope", "").status().message(),
            "open OCI layout " + (d / "nope") + ": No such file or directory");
  WriteText(d / "plain/etc/x", "x");
  EXPECT_EQ(ImportOciLayout(*dst, d / "plain", "").status().message(),
            (d / "plain") + " is not an OCI image layout (no oci-layout file)");
  ASSERT_TRUE(WriteOciLayout(*src, img, d / "layout", "v1").ok());
  // A tampered layer is refused and nothing of it is published.
  const std::string layer =
      d / ("layout/blobs/sha256/" + std::string(DigestHex(img.layers[0].digest)));
  ::unlink(layer.c_str());
  WriteText(layer, "tampered");
  auto r = ImportOciLayout(*dst, d / "layout", "v1");
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("OCI layout " + (d / "layout")), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(dst->Has(img.layers[0].digest));
  ::unlink(layer.c_str());
  EXPECT_EQ(
      ImportOciLayout(*dst, d / "layout", "v1").status().message(),
      "OCI layout " + (d / "layout") + " has no blob " + img.layers[0].digest + " (" + layer + ")");
}

TEST(ImageImport, OciArchive) {
  ScratchDir d;
  auto src = BlobStore::Open(d / "src");
  auto dst = BlobStore::Open(d / "dst");
  Image img = OneLayerImage(d, *src);
  ASSERT_TRUE(WriteOciArchive(*src, img, d / "img.tar", "dev", "docker.io/team/app:dev").ok());
  auto r = ImportArchive(*dst, d / "img.tar", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "team/app:dev");
  EXPECT_EQ(r->image.manifest_digest, img.manifest_digest);
  EXPECT_TRUE(dst->Has(img.layers[0].digest));
}

TEST(ImageImport, DockerSaveArchive) {
  ScratchDir d;
  auto src = BlobStore::Open(d / "src");
  auto dst = BlobStore::Open(d / "dst");
  Image img = OneLayerImage(d, *src);
  std::string config = *src->ReadBytes(img.config_digest);
  std::string layer = ReadText(d / "layer.tar");
  std::string id(DigestHex(img.config_digest));
  nlohmann::json manifest =
      nlohmann::json::array({{{"Config", id + ".json"},
                              {"RepoTags", {"debian:bookworm"}},
                              {"Layers", {"aaa/layer.tar", "bbb/layer.tar"}}}});
  // As Docker 20.10 writes it: a repeated layer is a symlink to the first copy.
  WriteTar(d / "save.tar", {F(id + ".json", config), F("aaa/layer.tar", layer),
                            testing::L("bbb/layer.tar", "../aaa/layer.tar"),
                            F("manifest.json", manifest.dump()), F("repositories", "{}")});
  auto r = ImportArchive(*dst, d / "save.tar", "");
  // The symlinked layer resolves (else "which the archive lacks"); the config lists one diff_id.
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has 2 layers but its config lists 1 diff_ids"),
            std::string::npos)
      << r.status().message();
  manifest[0]["Layers"] = {"aaa/layer.tar"};
  WriteTar(d / "save.tar", {F(id + ".json", config), F("aaa/layer.tar", layer),
                            F("manifest.json", manifest.dump())});
  r = ImportArchive(*dst, d / "save.tar", "bookworm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "debian:bookworm");
  EXPECT_EQ(r->image.config_digest, img.config_digest);  // Docker's image ID is kept
  ASSERT_EQ(r->image.layers.size(), 1u);
  EXPECT_EQ(r->image.layers[0].digest, img.layers[0].digest);
  EXPECT_EQ(r->image.layers[0].media_type, kMediaTypeLayerTar);
  // `docker save | gzip` reads the same.
  WriteTar(
      d / "save.tar.gz",
      {F(id + ".json", config), F("aaa/layer.tar", layer), F("manifest.json", manifest.dump())},
      /*gzip=*/true);
  auto gz = ImportArchive(*dst, d / "save.tar.gz", "");
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(gz->image.manifest_digest, r->image.manifest_digest);
  EXPECT_EQ(ImportArchive(*dst, d / "save.tar", "sid").status().message(),
            "archive " + (d / "save.tar") + " has no image \"sid\" (it has: debian:bookworm)");

  WriteTar(d / "junk.tar", {F("hello", "x")});
  EXPECT_EQ(ImportArchive(*dst, d / "junk.tar", "").status().message(),
            (d / "junk.tar") +
                " is neither an OCI archive (no index.json) nor a docker save archive (no "
                "manifest.json)");
  WriteText(d / "notatar", std::string(1024, 'x'));
  EXPECT_EQ(ImportArchive(*dst, d / "notatar", "").status().code(), StatusCode::kInvalidArgument);
}

TEST(ImageImport, MultiPlatformIndexResolvesToThisPlatform) {
  ScratchDir d;
  auto src = BlobStore::Open(d / "src");
  auto dst = BlobStore::Open(d / "dst");
  Image amd = OneLayerImage(d, *src, "amd64");
  Image arm = OneLayerImage(d, *src, "arm64");
  auto desc = [](const Image& img, const char* arch) {
    return nlohmann::json{{"mediaType", kMediaTypeManifest},
                          {"digest", img.manifest_digest},
                          {"size", img.manifest_size},
                          {"platform", {{"os", "linux"}, {"architecture", arch}}}};
  };
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", kMediaTypeImageIndex},
                          {"manifests", {desc(arm, "arm64"), desc(amd, "amd64")}}};
  auto info = src->PutBytes(CanonicalJson(index));
  ASSERT_TRUE(info.ok());
  Image as_index = amd;
  as_index.manifest_digest = info->digest;  // WriteOciLayout copies these blobs
  as_index.manifest_size = info->size;
  ASSERT_TRUE(WriteOciLayout(*src, as_index, d / "layout", "multi").ok());
  // The amd64 manifest, and of arm64 only manifest and config: an arm64 layer is never needed.
  for (const auto& blob : {amd.manifest_digest, arm.manifest_digest, arm.config_digest}) {
    auto p = src->Path(blob);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(
        ::link(p->c_str(), (d / ("layout/blobs/sha256/" + std::string(DigestHex(blob)))).c_str()),
        0);
  }
  auto r = ImportOciLayout(*dst, d / "layout", "multi");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->image.manifest_digest, amd.manifest_digest);

  nlohmann::json arm_only = {{"schemaVersion", 2},
                             {"mediaType", kMediaTypeImageIndex},
                             {"manifests", {desc(arm, "arm64")}}};
  info = src->PutBytes(CanonicalJson(arm_only));
  as_index.manifest_digest = info->digest;
  as_index.manifest_size = info->size;
  ASSERT_TRUE(WriteOciLayout(*src, as_index, d / "layout", "arm").ok());
  EXPECT_EQ(ImportOciLayout(*dst, d / "layout", "arm").status().message(),
            "OCI layout " + (d / "layout") +
                ": no linux/amd64 image in its index (it has: "
                "linux/arm64)");
}

TEST(ImageImport, SplitPathAndTag) {
  ScratchDir d;
  EXPECT_EQ(SplitPathAndTag("dir:dev"), std::make_pair(std::string("dir"), std::string("dev")));
  EXPECT_EQ(SplitPathAndTag("dir"), std::make_pair(std::string("dir"), std::string("")));
  EXPECT_EQ(SplitPathAndTag("a:b/dir"), std::make_pair(std::string("a:b/dir"), std::string("")));
  WriteText(d / "odd:name", "x");
  EXPECT_EQ(SplitPathAndTag(d / "odd:name"), std::make_pair(d / "odd:name", std::string("")));
}

}  // namespace
}  // namespace latchkey::image
