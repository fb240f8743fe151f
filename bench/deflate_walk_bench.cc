// Finding a deflate stream's last block (builder/image/deflate_walk.h), which the parallel gzip
// compressor does for every 1 MiB block it joins: WalkDeflate versus zlib's inflate in Z_BLOCK
// mode (what the compressor used before) and, as the floor of any decoder, libdeflate's full
// decompression. Input: 32 MiB of the machine's own /usr/bin and /usr/lib files (real layer
// content: executables, libraries, text), cut into 1 MiB blocks deflated by libdeflate at
// level 6. Reports inflated MB/s. Run: build-release/bench/deflate_walk_bench.
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <libdeflate.h>
#include <zlib.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "builder/image/deflate_walk.h"

namespace {

using Bytes = std::vector<unsigned char>;
constexpr size_t kInput = 32 << 20;
constexpr size_t kBlock = 1 << 20;

void AddFiles(const std::string& dir, Bytes& out) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (out.size() >= kInput) break;
    if (e->d_type != DT_REG) continue;
    std::ifstream f(dir + "/" + e->d_name, std::ios::binary);
    out.insert(out.end(), std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  closedir(d);
}

struct Blocks {
  std::vector<Bytes> deflated;
  size_t inflated = 0;
};

const Blocks& Input() {
  static const Blocks blocks = [] {
    Bytes raw;
    AddFiles("/usr/bin", raw);
    AddFiles("/usr/lib/x86_64-linux-gnu", raw);
    raw.resize(std::min(raw.size(), kInput));
    Blocks b;
    libdeflate_compressor* c = libdeflate_alloc_compressor(6);
    for (size_t at = 0; at < raw.size(); at += kBlock) {
      const size_t n = std::min(kBlock, raw.size() - at);
      Bytes out(libdeflate_deflate_compress_bound(c, n));
      out.resize(libdeflate_deflate_compress(c, raw.data() + at, n, out.data(), out.size()));
      b.deflated.push_back(std::move(out));
      b.inflated += n;
    }
    libdeflate_free_compressor(c);
    return b;
  }();
  return blocks;
}

void BM_WalkDeflate(benchmark::State& state) {
  const Blocks& in = Input();
  for (auto _ : state) {
    for (const Bytes& b : in.deflated) {
      auto layout = latchkey::image::WalkDeflate(b.data(), b.size());
      if (!layout.ok()) state.SkipWithError(layout.status().message().c_str());
      benchmark::DoNotOptimize(layout);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.inflated));
}

void BM_ZlibBlockWalk(benchmark::State& state) {
  const Blocks& in = Input();
  Bytes sink(64 * 1024);
  for (auto _ : state) {
    for (const Bytes& b : in.deflated) {
      z_stream zs = {};
      inflateInit2(&zs, -15);
      zs.next_in = const_cast<unsigned char*>(b.data());
      zs.avail_in = static_cast<uInt>(b.size());
      int rc = Z_OK;
      uLong boundaries = 0;
      while (rc == Z_OK) {
        zs.next_out = sink.data();
        zs.avail_out = static_cast<uInt>(sink.size());
        rc = inflate(&zs, Z_BLOCK);
        if ((zs.data_type & 128) != 0) ++boundaries;
      }
      inflateEnd(&zs);
      benchmark::DoNotOptimize(boundaries);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.inflated));
}

void BM_LibdeflateDecompress(benchmark::State& state) {
  const Blocks& in = Input();
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  Bytes out(kBlock);
  for (auto _ : state) {
    for (const Bytes& b : in.deflated) {
      size_t n = 0;
      libdeflate_deflate_decompress(d, b.data(), b.size(), out.data(), out.size(), &n);
      benchmark::DoNotOptimize(n);
    }
  }
  libdeflate_free_decompressor(d);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.inflated));
}

BENCHMARK(BM_WalkDeflate)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ZlibBlockWalk)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LibdeflateDecompress)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
