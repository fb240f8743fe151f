// Layer writing and unpacking throughput on a synthetic tree (a busybox binary plus N small
// files), and the full-rootfs import path. Run: build/bench/layer_bench (or bench/run.sh).
// Peer comparison (same machine, same tree): see docs/image-store.md ("Measured").
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "builder/image/blob_store.h"
#include "builder/image/layer_extract.h"
#include "builder/image/layer_writer.h"

namespace {

using namespace latchkey::image;

struct Fixture {
  std::string dir;
  explicit Fixture(int files) {
    char tmpl[] = "/tmp/lk-layer-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dir + "/tree/bin");
    std::filesystem::copy_file("/bin/busybox", dir + "/tree/bin/busybox");
    std::string blob(4096, 'x');
    for (int i = 0; i < files; ++i) {
      std::string sub = dir + "/tree/d" + std::to_string(i % 32);
      std::filesystem::create_directories(sub);
      blob[0] = static_cast<char>(i);
      std::ofstream(sub + "/f" + std::to_string(i)) << blob;
    }
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

void BM_WriteLayer(benchmark::State& state) {
  Fixture fx(static_cast<int>(state.range(0)));
  auto store = BlobStore::Open(fx.dir + "/store");
  LayerOptions o;
  o.source = LayerSource::kRootfs;
  o.source_date_epoch = 0;
  o.gzip_level = static_cast<int>(state.range(1));
  int64_t bytes = 0;
  for (auto _ : state) {
    auto l = WriteLayer(fx.dir + "/tree", o, *store);
    if (!l.ok()) state.SkipWithError(l.status().ToString().c_str());
    bytes = l.ok() ? l->uncompressed_size : 0;
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_WriteLayer)
    ->Args({0, 6})
    ->Args({2000, 6})
    ->Args({2000, 1})
    ->Unit(benchmark::kMillisecond);

void BM_ExtractLayer(benchmark::State& state) {
  Fixture fx(static_cast<int>(state.range(0)));
  auto store = BlobStore::Open(fx.dir + "/store");
  LayerOptions o;
  o.source = LayerSource::kRootfs;
  auto l = WriteLayer(fx.dir + "/tree", o, *store);
  int n = 0;
  for (auto _ : state) {
    std::string dest = fx.dir + "/out" + std::to_string(n++);
    std::filesystem::create_directories(dest);
    auto r = ExtractLayerTo(store->PathFor(l->digest), dest, ExtractOptions{});
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    state.PauseTiming();
    std::filesystem::remove_all(dest);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * l->uncompressed_size);
}
BENCHMARK(BM_ExtractLayer)->Arg(0)->Arg(2000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
