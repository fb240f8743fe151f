#include "builder/image/output_image.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "builder/image/config_json.h"
#include "builder/image/layer_stream.h"
#include "builder/image/media_types.h"
#include "builder/image/test_util.h"

namespace latchkey::image {
namespace {

using testing::ScratchDir;
using testing::WriteText;

// An image of two layers: an uncompressed one (as the builder writes them) on a gzip one (as a
// pulled or imported base has).
Image TwoLayers(const ScratchDir& d, BlobStore& blobs) {
  WriteText(d / "base/etc/os", "debian\n");
  LayerOptions gz;
  gz.source = LayerSource::kRootfs;
  gz.source_date_epoch = 0;
  auto base = WriteLayer(d / "base", gz, blobs);
  EXPECT_TRUE(base.ok());
  std::string big;
  for (int i = 0; i < 300000; ++i) big += std::to_string(i) + "\n";
  WriteText(d / "top/app/data.txt", big);
  LayerOptions tar = gz;
  tar.compression = Compression::kUncompressed;
  auto top = WriteLayer(d / "top", tar, blobs);
  EXPECT_TRUE(top.ok());
  EXPECT_EQ(top->media_type, kMediaTypeLayerTar);
  EXPECT_EQ(top->digest, top->diff_id);
  frontend::ImageConfig c = frontend::ImageConfig::Scratch();
  c.created = "1970-01-01T00:00:00Z";
  auto img = CommitImage(c, {*base, *top}, blobs);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  return *img;
}

// The diff_id of a blob read back through the layer reader (gzip or plain).
std::string DiffIdOf(const BlobStore& blobs, const std::string& digest) {
  auto s = LayerStream::OpenFile(blobs.PathFor(digest), true);
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE((*s)->Drain().ok());
  return (*s)->DiffId();
}

TEST(ImageForOutput, CompressesTarLayersOnceAndCachesTheBlob) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayers(d, *blobs);
  auto out = ImageForOutput(*blobs, img, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->layers.size(), 2u);
  EXPECT_EQ(out->layers[0].digest, img.layers[0].digest);  // already gzip: kept
  EXPECT_EQ(out->layers[1].media_type, kMediaTypeLayerGzip);
  EXPECT_NE(out->layers[1].digest, img.layers[1].digest);
  EXPECT_LT(out->layers[1].size, img.layers[1].size / 2);
  EXPECT_EQ(DiffIdOf(*blobs, out->layers[1].digest), img.layers[1].diff_id);
  EXPECT_NE(out->manifest_digest, img.manifest_digest);
  EXPECT_EQ(out->config_digest, img.config_digest);
  // The new manifest is in the store and loads as the emitted image.
  auto loaded = LoadImage(*blobs, out->manifest_digest);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->layers[1].digest, out->layers[1].digest);
  EXPECT_EQ(loaded->layers[1].media_type, kMediaTypeLayerGzip);

  // The cache entry names the blob; a second output reuses it without reading the layer.
  const std::string entry =
      CompressedCacheDir(*blobs) + "/" + std::string(DigestHex(img.layers[1].diff_id)) + "/gzip-3";
  auto text = ReadFile(entry);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "{\"digest\":\"" + out->layers[1].digest + "\",\"mediaType\":\"" +
                       kMediaTypeLayerGzip + "\",\"size\":" + std::to_string(out->layers[1].size) +
                       "}");
  ASSERT_EQ(::chmod(blobs->PathFor(img.layers[1].digest).c_str(), 0), 0);
  auto again = ImageForOutput(*blobs, img, {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->manifest_digest, out->manifest_digest);
  ASSERT_EQ(::chmod(blobs->PathFor(img.layers[1].digest).c_str(), 0600), 0);

  auto cache = ListCompressedCache(*blobs);
  ASSERT_TRUE(cache.ok());
  ASSERT_EQ(cache->size(), 2u);  // the layer's copy and the output manifest
  for (const auto& c : *cache) {
    if (c.source == img.layers[1].diff_id) {
      EXPECT_EQ(c.digest, out->layers[1].digest);
    } else {
      EXPECT_EQ(c.source, img.manifest_digest);
      EXPECT_EQ(c.digest, out->manifest_digest);
    }
  }

  // A cache entry whose blob is gone is ignored and rewritten.
  ASSERT_EQ(::unlink(blobs->PathFor(out->layers[1].digest).c_str()), 0);
  auto rebuilt = ImageForOutput(*blobs, img, {});
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_TRUE(blobs->Has(out->layers[1].digest));
}

TEST(ImageForOutput, ZstdLevelsAndForce) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayers(d, *blobs);
  OutputCompression z;
  z.compression = Compression::kZstd;
  auto plain = ImageForOutput(*blobs, img, z);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->layers[0].media_type, kMediaTypeLayerGzip);  // not forced: kept
  EXPECT_EQ(plain->layers[1].media_type, kMediaTypeLayerZstd);
  z.force = true;
  z.level = 9;
  auto forced = ImageForOutput(*blobs, img, z);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ(forced->layers[0].media_type, kMediaTypeLayerZstd);
  EXPECT_EQ(forced->layers[1].media_type, kMediaTypeLayerZstd);
  EXPECT_NE(forced->layers[1].digest, plain->layers[1].digest);  // level 9, not 3
  EXPECT_TRUE(std::filesystem::exists(CompressedCacheDir(*blobs) + "/" +
                                      std::string(DigestHex(img.layers[0].diff_id)) + "/zstd-9"));
  // Uncompressed output: the tar layers as they are; forced, the gzip base is decompressed.
  OutputCompression u;
  u.compression = Compression::kUncompressed;
  auto same = ImageForOutput(*blobs, img, u);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->manifest_digest, img.manifest_digest);
  u.force = true;
  auto tar = ImageForOutput(*blobs, img, u);
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  EXPECT_EQ(tar->layers[0].media_type, kMediaTypeLayerTar);
  EXPECT_EQ(tar->layers[0].digest, img.layers[0].diff_id);
  // A zstd layer cannot be read back: forcing another compression on it is refused.
  Image zimg = *forced;
  OutputCompression g;
  g.force = true;
  EXPECT_EQ(ImageForOutput(*blobs, zimg, g).status().message(),
            "layer " + zimg.layers[0].digest +
                ": cannot recompress a application/vnd.oci.image.layer.v1.tar+zstd layer");
  OutputCompression bad;
  bad.level = 11;
  EXPECT_EQ(ImageForOutput(*blobs, img, bad).status().message(),
            "compression-level 11 is out of range for gzip (0..9)");
}

TEST(ImageForOutput, ACorruptLayerIsNotCompressed) {
  ScratchDir d;
  auto blobs = BlobStore::Open(d / "store");
  ASSERT_TRUE(blobs.ok());
  Image img = TwoLayers(d, *blobs);
  const std::string path = blobs->PathFor(img.layers[1].digest);
  auto data = ReadFile(path);
  ASSERT_TRUE(data.ok());
  std::string broken = *data;
  broken[1000] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(path, broken, 0600).ok());
  auto out = ImageForOutput(*blobs, img, {});
  EXPECT_EQ(out.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(out.status().message().rfind("compressing layer " + img.layers[1].diff_id + ": blob " +
                                             img.layers[1].digest + " is corrupt",
                                         0),
            0u)
      << out.status().message();
}

}  // namespace
}  // namespace latchkey::image
