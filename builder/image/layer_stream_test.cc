#include "builder/image/layer_stream.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <string>

namespace latchkey::image {
namespace {

std::string Gzip(const std::string& data) {
  z_stream zs = {};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Zstd(const std::string& data, bool checksum) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(c);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

class LayerStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "lk-stream-test-");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
  }
  void TearDown() override { (void)RemoveAll(dir_); }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // Reads the whole stream; returns the produced bytes, or the error text.
  static std::string ReadAll(LayerStream& s) {
    std::string out;
    const void* buf;
    for (;;) {
      ssize_t n = s.Read(&buf);
      if (n < 0) return "error: " + s.error().ToString();
      if (n == 0) return out;
      out.append(static_cast<const char*>(buf), static_cast<size_t>(n));
    }
  }
  std::string dir_;
};

TEST_F(LayerStreamTest, InflatesConcatenatedMembersAndHashesBothForms) {
  std::string data(200000, 'x');
  std::string blob = Gzip(data.substr(0, 100000)) + Gzip(data.substr(100000));
  auto s = LayerStream::OpenFile(Write("l.gz", blob), /*hash=*/true);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->gzip());
  EXPECT_EQ(ReadAll(**s), data);
  EXPECT_EQ((*s)->Digest(), Sha256Digest(blob));
  EXPECT_EQ((*s)->DiffId(), Sha256Digest(data));
}

TEST_F(LayerStreamTest, PassesOtherBlobsThrough) {
  auto s = LayerStream::OpenFile(Write("l.tar", "plain tar bytes"), /*hash=*/true);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)->gzip());
  EXPECT_EQ(ReadAll(**s), "plain tar bytes");
  EXPECT_EQ((*s)->DiffId(), Sha256Digest("plain tar bytes"));
}

TEST_F(LayerStreamTest, TruncatedAndCorruptGzipAreDataLoss) {
  std::string blob = Gzip(std::string(5000, 'y'));
  auto t = LayerStream::OpenFile(Write("t.gz", blob.substr(0, blob.size() - 6)), false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ReadAll(**t), "error: DATA_LOSS: gzip data is truncated");
  std::string bad = blob;
  bad[bad.size() - 6] ^= 0x55;  // the CRC-32 in the trailer
  auto c = LayerStream::OpenFile(Write("c.gz", bad), false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ReadAll(**c), "error: DATA_LOSS: gzip data is corrupt: incorrect data check");
  auto j = LayerStream::OpenFile(Write("j.gz", blob + "junk"), false);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(ReadAll(**j), "error: DATA_LOSS: gzip data is corrupt: incorrect header check");
}

TEST_F(LayerStreamTest, DecompressesZstdFramesAndHashesBothForms) {
  std::string data;
  for (unsigned i = 0; i < 300000; ++i) data += static_cast<char>('a' + (i * 7919u % 26));
  std::string blob = Zstd(data.substr(0, 150000), true) + Zstd(data.substr(150000), false);
  auto s = LayerStream::OpenFile(Write("l.zst", blob), /*hash=*/true);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->zstd());
  EXPECT_FALSE((*s)->gzip());
  const std::string got = ReadAll(**s);
  EXPECT_TRUE(got == data) << got.substr(0, 80);
  EXPECT_EQ((*s)->Digest(), Sha256Digest(blob));
  EXPECT_EQ((*s)->DiffId(), Sha256Digest(data));
}

TEST_F(LayerStreamTest, TruncatedAndCorruptZstdAreDataLoss) {
  std::string blob = Zstd(std::string(5000, 'y'), true);
  auto t = LayerStream::OpenFile(Write("t.zst", blob.substr(0, blob.size() - 6)), false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ReadAll(**t), "error: DATA_LOSS: zstd data is truncated");
  std::string bad = blob;
  bad[bad.size() - 1] ^= 0x55;  // the frame's checksum
  auto c = LayerStream::OpenFile(Write("c.zst", bad), false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ReadAll(**c),
            "error: DATA_LOSS: zstd data is corrupt: Restored data doesn't match checksum");
  auto j = LayerStream::OpenFile(Write("j.zst", blob + "junk"), false);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(ReadAll(**j), "error: DATA_LOSS: zstd data is corrupt: Unknown frame descriptor");
}

TEST_F(LayerStreamTest, MissingFileNamesIt) {
  auto s = LayerStream::OpenFile(dir_ + "/nope", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "open " + dir_ + "/nope: No such file or directory");
}

}  // namespace
}  // namespace latchkey::image
