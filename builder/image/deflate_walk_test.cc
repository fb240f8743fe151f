#include "builder/image/deflate_walk.h"

#include <gtest/gtest.h>
#include <libdeflate.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

namespace latchkey::image {
namespace {

using Bytes = std::vector<unsigned char>;

// The oracle: zlib's inflate in Z_BLOCK mode, which stops at every block boundary (what the
// compressor used before WalkDeflate). Returns the layout zlib sees.
DeflateLayout ZlibLayout(const Bytes& deflate) {
  DeflateLayout layout;
  layout.blocks = 1;  // zlib stops before every block's header but the first
  z_stream zs = {};
  EXPECT_EQ(inflateInit2(&zs, -15), Z_OK);
  std::vector<unsigned char> sink(64 * 1024);
  zs.next_in = const_cast<unsigned char*>(deflate.data());
  zs.avail_in = static_cast<uInt>(deflate.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = sink.data();
    zs.avail_out = static_cast<uInt>(sink.size());
    rc = inflate(&zs, Z_BLOCK);
    layout.output_size += sink.size() - zs.avail_out;
    if (rc == Z_OK && (zs.data_type & 128) != 0 && (zs.data_type & 64) == 0) {
      const uint64_t consumed = deflate.size() - zs.avail_in;
      layout.final_block_bit = consumed * 8 - static_cast<uint64_t>(zs.data_type & 7);
      ++layout.blocks;
    } else if (rc == Z_OK && (zs.data_type & 192) == 192) {
      layout.padding_bits = zs.data_type & 7;
    }
  }
  EXPECT_EQ(rc, Z_STREAM_END) << (zs.msg != nullptr ? zs.msg : "");
  EXPECT_EQ(zs.avail_in, 0u);
  inflateEnd(&zs);
  return layout;
}

// Text, random bytes, long runs and short repeats: every block type and code shape.
Bytes Mixed(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b;
  b.reserve(size);
  while (b.size() < size) {
    switch (rng() % 4) {
      case 0:
        for (int i = 0, n = static_cast<int>(rng() % 5000); i < n; ++i) {
          b.push_back(static_cast<unsigned char>(rng()));
        }
        break;
      case 1: {
        std::string line = "line " + std::to_string(rng() % 1000) + " of some text\n";
        for (int i = 0, n = static_cast<int>(rng() % 200); i < n; ++i)
          b.insert(b.end(), line.begin(), line.end());
        break;
      }
      case 2:
        b.insert(b.end(), rng() % 70000, static_cast<unsigned char>(rng()));
        break;
      default:
        for (int i = 0, n = static_cast<int>(rng() % 3000); i < n; ++i) {
          b.push_back(static_cast<unsigned char>('a' + rng() % 3));
        }
    }
  }
  b.resize(size);
  return b;
}

Bytes Libdeflate(const Bytes& in, int level) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(level);
  Bytes out(libdeflate_deflate_compress_bound(c, in.size()));
  out.resize(libdeflate_deflate_compress(c, in.data(), in.size(), out.data(), out.size()));
  libdeflate_free_compressor(c);
  return out;
}

// zlib's deflate with a strategy and a flush every `flush_every` bytes (empty stored blocks).
Bytes Zlib(const Bytes& in, int level, int strategy, size_t flush_every) {
  z_stream zs = {};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, -15, 8, strategy), Z_OK);
  Bytes out(deflateBound(&zs, in.size()) + 64 * (in.size() / flush_every + 1));
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  for (size_t at = 0; at < in.size() || at == 0;) {
    const size_t n = std::min(flush_every, in.size() - at);
    zs.next_in = const_cast<unsigned char*>(in.data() + at);
    zs.avail_in = static_cast<uInt>(n);
    at += n;
    const bool end = at >= in.size();
    EXPECT_NE(deflate(&zs, end ? Z_FINISH : Z_SYNC_FLUSH), Z_STREAM_ERROR);
    if (end) break;
  }
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  return out;
}

void ExpectSameAsZlib(const Bytes& deflate, const std::string& what) {
  Result<DeflateLayout> got = WalkDeflate(deflate.data(), deflate.size());
  ASSERT_TRUE(got.ok()) << what << ": " << got.status().message();
  DeflateLayout want = ZlibLayout(deflate);
  EXPECT_EQ(got->final_block_bit, want.final_block_bit) << what;
  EXPECT_EQ(got->padding_bits, want.padding_bits) << what;
  EXPECT_EQ(got->output_size, want.output_size) << what;
  EXPECT_EQ(got->blocks, want.blocks) << what;
}

TEST(DeflateWalk, FindsWhatZlibFindsForEveryLibdeflateLevel) {
  for (unsigned seed = 1; seed <= 3; ++seed) {
    const Bytes in = Mixed(700000, seed);
    for (int level = 0; level <= 12; ++level) {
      ExpectSameAsZlib(Libdeflate(in, level),
                       "seed " + std::to_string(seed) + " level " + std::to_string(level));
    }
  }
}

TEST(DeflateWalk, FindsWhatZlibFindsForFixedStoredAndFlushedStreams) {
  const Bytes in = Mixed(300000, 7);
  ExpectSameAsZlib(Zlib(in, 6, Z_FIXED, 1 << 30), "fixed codes only");
  ExpectSameAsZlib(Zlib(in, 0, Z_DEFAULT_STRATEGY, 1 << 30), "stored blocks only");
  ExpectSameAsZlib(Zlib(in, 6, Z_DEFAULT_STRATEGY, 4096), "a sync flush every 4 KiB");
  ExpectSameAsZlib(Zlib(in, 9, Z_HUFFMAN_ONLY, 1 << 30), "literals only");
  ExpectSameAsZlib(Zlib(in, 1, Z_RLE, 1 << 30), "run-length matches");
  ExpectSameAsZlib(Libdeflate(Bytes(), 6), "an empty input");
  ExpectSameAsZlib(Libdeflate(Bytes(1, 'x'), 6), "one byte");
}

TEST(DeflateWalk, CountsTheBytesTheStreamInflatesTo) {
  const Bytes in = Mixed(1 << 20, 11);
  Result<DeflateLayout> got = WalkDeflate(Libdeflate(in, 6).data(), Libdeflate(in, 6).size());
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->output_size, in.size());
  EXPECT_GT(got->blocks, 1u);
}

std::string WalkError(const Bytes& b) {
  Result<DeflateLayout> got = WalkDeflate(b.data(), b.size());
  return got.ok() ? "ok" : got.status().message();
}

TEST(DeflateWalk, RefusesWhatIsNotExactlyOneStream) {
  const Bytes good = Libdeflate(Mixed(50000, 3), 6);
  EXPECT_EQ(WalkError(Bytes()),
            "not a valid deflate stream: the stream ends before its last block (bit 0)");
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(WalkError(trailing),
            "not a valid deflate stream: bytes after the last block (bit " +
                std::to_string(good.size() * 8 - ZlibLayout(good).padding_bits) + ")");
  Bytes truncated(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
  EXPECT_EQ(WalkError(truncated).rfind("not a valid deflate stream: ", 0), 0u)
      << WalkError(truncated);
  // BFINAL 1, BTYPE 11.
  EXPECT_EQ(WalkError(Bytes{0x07}), "not a valid deflate stream: block type 3 (bit 0)");
  // A final stored block whose NLEN is not the complement of LEN.
  EXPECT_EQ(WalkError(Bytes{0x01, 0x02, 0x00, 0x00, 0x00, 'a', 'b'}),
            "not a valid deflate stream: a stored block's length check fails (bit 0)");
  // A final stored block of 5 bytes with 2 present.
  EXPECT_EQ(WalkError(Bytes{0x01, 0x05, 0x00, 0xfa, 0xff, 'a', 'b'}),
            "not a valid deflate stream: a truncated stored block (bit 0)");
  // A fixed block whose first symbol is a match: distance 1 with nothing before it. Fixed codes:
  // BFINAL 1, BTYPE 01; length symbol 257 (7 bits 0000001), distance code 0 (5 bits 00000).
  EXPECT_EQ(WalkError(Bytes{0x03, 0x02, 0x00, 0x00})
                .rfind("not a valid deflate stream: a distance before the start", 0),
            0u)
      << WalkError(Bytes{0x03, 0x02, 0x00, 0x00});
}

}  // namespace
}  // namespace latchkey::image
