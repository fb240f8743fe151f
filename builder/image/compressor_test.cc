#include "builder/image/compressor.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <random>
#include <string>

namespace latchkey::image {
namespace {

// Inflates ONE gzip member; fails the test when anything follows it or the trailer is wrong.
std::string GunzipOneMember(const std::string& gz) {
  z_stream zs = {};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END) << (zs.msg != nullptr ? zs.msg : "");
  EXPECT_EQ(zs.avail_in, 0u) << "bytes after the gzip member";
  inflateEnd(&zs);
  return out;
}

std::string Unzstd(const std::string& z) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer in = {z.data(), z.size(), 0};
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  size_t rc = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o = {buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(d, &o, &in);
    EXPECT_FALSE(ZSTD_isError(rc)) << ZSTD_getErrorName(rc);
    if (ZSTD_isError(rc)) break;
    out.append(buf.data(), o.pos);
  }
  EXPECT_EQ(rc, 0u) << "zstd frame not complete";
  ZSTD_freeDCtx(d);
  return out;
}

// Random bytes then text: a layer's mix of incompressible and compressible data.
std::string Sample(size_t random_bytes, size_t text_bytes) {
  std::mt19937 rng(42);
  std::string s;
  s.reserve(random_bytes + text_bytes);
  for (size_t i = 0; i < random_bytes; ++i) s.push_back(static_cast<char>(rng() & 0xff));
  for (size_t i = 0; s.size() < random_bytes + text_bytes; ++i) s += std::to_string(i) + "\n";
  s.resize(random_bytes + text_bytes);
  return s;
}

// Compresses `data`, fed in `chunk`-byte writes.
std::string Compress(Compression c, int level, int threads, const std::string& data,
                     size_t chunk = 100000) {
  std::string out;
  auto comp = Compressor::Create(c, level, threads, [&](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
    return Status::OK();
  });
  EXPECT_TRUE(comp.ok()) << comp.status().ToString();
  for (size_t i = 0; i < data.size(); i += chunk) {
    EXPECT_TRUE((*comp)->Write(data.data() + i, std::min(chunk, data.size() - i)).ok());
  }
  EXPECT_TRUE((*comp)->Finish().ok());
  return out;
}

TEST(Compressor, GzipIsOneValidMemberWhateverTheSizeAndThreads) {
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{1} << 20, (size_t{1} << 20) + 1, size_t{3500000}}) {
    std::string data = Sample(size / 2, size - size / 2);
    for (int threads : {1, 3}) {
      std::string gz = Compress(Compression::kGzip, 6, threads, data);
      ASSERT_GE(gz.size(), 18u);
      EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
      EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
      EXPECT_EQ(GunzipOneMember(gz), data) << "size " << size << " threads " << threads;
    }
  }
}

TEST(Compressor, GzipOutputDoesNotDependOnThreadsOrWriteSizes) {
  std::string data = Sample(1500000, 2500000);
  std::string one = Compress(Compression::kGzip, 6, 1, data, 4096);
  EXPECT_EQ(Compress(Compression::kGzip, 6, 2, data, 1 << 20), one);
  EXPECT_EQ(Compress(Compression::kGzip, 6, 4, data, 777777), one);
  // Text compresses as well as zlib's one stream at the same level (within 5 %), though each
  // block starts without the previous block's window.
  std::string text = Sample(0, 4000000);
  uLongf bound = compressBound(text.size());
  std::string single(bound, '\0');
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(single.data()), &bound,
                      reinterpret_cast<const Bytef*>(text.data()), text.size(), 6),
            Z_OK);
  EXPECT_LT(Compress(Compression::kGzip, 6, 2, text).size(), bound * 105 / 100);
}

TEST(Compressor, IncompressibleBlocksAreStoredAndMixedOnesDeflated) {
  std::string random = Sample(4 << 20, 0);
  std::string gz = Compress(Compression::kGzip, 6, 2, random);
  EXPECT_EQ(GunzipOneMember(gz), random);
  EXPECT_LT(gz.size(), random.size() + random.size() / 1000);  // stored: 5 bytes per 64 KiB
  // One block, random but for its last quarter of text: a probe sees the text, so the block
  // is deflated and the text shrinks.
  std::string mixed = Sample(768 << 10, 256 << 10);
  std::string mgz = Compress(Compression::kGzip, 6, 1, mixed);
  EXPECT_EQ(GunzipOneMember(mgz), mixed);
  EXPECT_LT(mgz.size(), (768 << 10) + (128 << 10));
}

// Each block is deflated by libdeflate and its final bit cleared before the next one is
// appended: every level and every mix of stored, fixed and dynamic blocks at the boundaries
// must still make one member that inflates to the input.
TEST(Compressor, EveryLevelJoinsItsBlocksIntoOneMember) {
  std::mt19937 rng(7);
  for (int level = 0; level <= 9; ++level) {
    std::string data;
    // Runs of random bytes, text and zeros, so blocks end in every kind of deflate block.
    while (data.size() < (3u << 20) + 12345) {
      size_t n = 1 + rng() % 300000;
      switch (rng() % 3) {
        case 0:
          for (size_t i = 0; i < n; ++i) data.push_back(static_cast<char>(rng() & 0xff));
          break;
        case 1:
          for (size_t i = 0; data.size() % 1000 != 999 || i < n / 8; ++i) {
            data += std::to_string(rng() % 1000) + " ";
          }
          break;
        default:
          data.append(n, '\0');
      }
    }
    EXPECT_TRUE(GunzipOneMember(Compress(Compression::kGzip, level, 2, data)) == data)
        << "level " << level;
  }
}

TEST(Compressor, GzipLevelsChangeTheOutput) {
  std::string data = Sample(0, 2000000);
  std::string l1 = Compress(Compression::kGzip, 1, 2, data);
  std::string l9 = Compress(Compression::kGzip, 9, 2, data);
  EXPECT_NE(l1, l9);
  EXPECT_EQ(GunzipOneMember(l1), data);
  EXPECT_EQ(GunzipOneMember(l9), data);
  EXPECT_EQ(GunzipOneMember(Compress(Compression::kGzip, 0, 2, data)), data);
}

TEST(Compressor, ZstdRoundTripsAndIsThreadIndependent) {
  std::string data = Sample(1000000, 3000000);
  std::string one = Compress(Compression::kZstd, 3, 1, data);
  EXPECT_EQ(Unzstd(one), data);
  EXPECT_EQ(Compress(Compression::kZstd, 3, 2, data), one);
  EXPECT_EQ(Unzstd(Compress(Compression::kZstd, 19, 2, Sample(0, 300000))), Sample(0, 300000));
  EXPECT_EQ(Unzstd(Compress(Compression::kZstd, 3, 2, "")), "");
}

TEST(Compressor, SinkErrorsStopTheStream) {
  int calls = 0;
  auto comp = Compressor::Create(Compression::kGzip, 6, 2, [&](const void*, size_t) {
    return ++calls > 1 ? ResourceExhaustedError("disk full") : Status::OK();
  });
  ASSERT_TRUE(comp.ok());
  std::string data = Sample(5000000, 0);
  Status st = (*comp)->Write(data.data(), data.size());
  if (st.ok()) st = (*comp)->Finish();
  EXPECT_EQ(st.message(), "disk full");
}

TEST(Compressor, Names) {
  EXPECT_EQ(ParseCompression("lz4").status().message(), "unsupported compression type lz4");
  EXPECT_EQ(*ParseCompression("zstd"), Compression::kZstd);
  EXPECT_EQ(CompressionName(Compression::kGzip), "gzip");
  EXPECT_EQ(Compressor::Create(Compression::kGzip, 10, 1, nullptr).status().message(),
            "compression-level 10 is out of range for gzip (0..9)");
  EXPECT_EQ(Compressor::Create(Compression::kZstd, 20, 1, nullptr).status().message(),
            "compression-level 20 is out of range for zstd (1..19)");
  EXPECT_STREQ(LayerMediaType(Compression::kZstd), "application/vnd.oci.image.layer.v1.tar+zstd");
}

}  // namespace
}  // namespace latchkey::image
