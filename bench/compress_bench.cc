// Layer compressor throughput (builder/image/compressor.h): gzip (pigz-style blocks) and zstd
// (libzstd multithreaded), 1 vs 2 threads, levels 1 and 6 / 3, on 32 MiB that is half random
// bytes (incompressible) and half text (compressible), as a build's layers often are. Reports
// input MB/s (bytes_per_second) and the ratio. Run: build-release/bench/compress_bench. The
// side-by-side export comparison with skopeo is bench/export_compare.sh.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "builder/image/compressor.h"

namespace {

using latchkey::Status;
using namespace latchkey::image;

const std::string& Input() {
  static const std::string data = [] {
    std::string s;
    const size_t half = 16 << 20;
    std::mt19937_64 rng(7);
    while (s.size() < half) {
      uint64_t v = rng();
      s.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    for (uint64_t i = 0; s.size() < 2 * half; ++i) s += std::to_string(i) + "\n";
    s.resize(2 * half);
    return s;
  }();
  return data;
}

void Run(benchmark::State& state, Compression c) {
  const std::string& in = Input();
  const int level = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  size_t out_bytes = 0;
  for (auto _ : state) {
    out_bytes = 0;
    auto comp = Compressor::Create(c, level, threads, [&](const void*, size_t n) {
      out_bytes += n;
      return Status::OK();
    });
    if (!comp.ok()) {
      state.SkipWithError(comp.status().message().c_str());
      return;
    }
    for (size_t i = 0; i < in.size(); i += 1 << 16) {
      (void)(*comp)->Write(in.data() + i, std::min<size_t>(1 << 16, in.size() - i));
    }
    (void)(*comp)->Finish();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
  state.counters["ratio"] = static_cast<double>(out_bytes) / static_cast<double>(in.size());
}

void BM_Gzip(benchmark::State& state) { Run(state, Compression::kGzip); }
void BM_Zstd(benchmark::State& state) { Run(state, Compression::kZstd); }

BENCHMARK(BM_Gzip)
    ->ArgNames({"level", "threads"})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Args({6, 1})
    ->Args({6, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Zstd)
    ->ArgNames({"level", "threads"})
    ->Args({3, 1})
    ->Args({3, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
