// Leak-guard throughput (issue 5): one Aho-Corasick pass (LeakScanner / LeakMatcher) against a
// memmem-per-pattern baseline, over the same ~64 MiB of layer content and the same 10 secrets
// (each expanded to raw + base64/base64url padded/unpadded + hex/HEX + URL forms).
//
//   *_Memory      the 64 MiB tar content in memory: matcher only vs one memmem pass per pattern
//   *_LayerFile   the layer blob on disk, gzip and plain tar: read + decompress + tar parsing
//                 + matching; ReadOnly is the same pipeline without matching (the floor)
//
// Run: build/bench/leak_scan_bench (figures in bench/README.md). Bytes/s are uncompressed bytes.
#include <archive.h>
#include <archive_entry.h>
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "builder/image/layer_stream.h"
#include "builder/solver/leak_scan.h"
#include "secure/leak_matcher.h"
#include "secure/secret_buffer.h"
#include "secure/secret_patterns.h"

namespace {

using latchkey::LeakMatcher;
using latchkey::SecretBuffer;
using latchkey::build::LeakScanner;
using latchkey::image::LayerStream;

constexpr int kSecrets = 10;
constexpr size_t kFileSize = 1 << 20;
constexpr int kFiles = 64;

// The URL forms, as the scanner builds them (leak_scan.cc), for the baseline's pattern list.
std::string UrlEncode(const std::string& v, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : v) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

struct Fixture {
  std::string dir;
  std::string content;  // the uncompressed tar
  std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> released;
  std::vector<std::string> patterns;  // the baseline's copies (bench only)
  LeakScanner scanner;

  Fixture() {
    char tmpl[] = "/tmp/lk-leak-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::mt19937_64 rng(7);
    const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.:%\" \n{}";
    for (int i = 0; i < kSecrets; ++i) {
      std::string v = "ghp_";
      for (int j = 0; j < 36; ++j) v.push_back(alphabet[rng() % 62]);
      if (i % 3 == 0) v += "/+?";  // some values have reserved characters
      auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
      released.emplace_back("s" + std::to_string(i),
                            std::make_shared<const SecretBuffer>(std::move(*buf)));
      patterns.push_back(v);
      auto forms = latchkey::EncodedForms(released.back().second->bytes());
      for (const auto& f : *forms) {
        patterns.emplace_back(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
      }
      for (bool upper : {true, false}) {
        std::string u = UrlEncode(v, upper);
        if (u != v && (upper || u != UrlEncode(v, true))) patterns.push_back(u);
      }
    }
    scanner = std::move(*LeakScanner::Create(released, {}));

    // Text-like files over the secrets' alphabet (frequent partial matches, no full one).
    std::vector<std::string> files;
    for (int f = 0; f < kFiles; ++f) {
      std::string data(kFileSize, ' ');
      for (auto& c : data) c = alphabet[rng() % alphabet.size()];
      files.push_back(std::move(data));
    }
    for (bool gzip : {true, false}) {
      struct archive* a = archive_write_new();
      archive_write_set_format_pax_restricted(a);
      if (gzip) archive_write_add_filter_gzip(a);
      std::string path = dir + (gzip ? "/layer.tar.gz" : "/layer.tar");
      archive_write_open_filename(a, path.c_str());
      for (int f = 0; f < kFiles; ++f) {
        struct archive_entry* e = archive_entry_new();
        archive_entry_copy_pathname(e, ("app/data/file" + std::to_string(f) + ".txt").c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(kFileSize));
        archive_write_header(a, e);
        archive_write_data(a, files[f].data(), files[f].size());
        archive_entry_free(e);
      }
      archive_write_close(a);
      archive_write_free(a);
    }
    FILE* in = std::fopen((dir + "/layer.tar").c_str(), "rb");
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) content.append(buf, n);
    std::fclose(in);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

void BM_AhoCorasick_Memory(benchmark::State& state) {
  Fixture& f = F();
  std::vector<std::span<const uint8_t>> spans;
  for (const auto& p : f.patterns) {
    spans.push_back({reinterpret_cast<const uint8_t*>(p.data()), p.size()});
  }
  size_t budget = state.range(0) ? LeakMatcher::kDefaultDenseBudget : 0;
  auto m = LeakMatcher::Build(spans, budget);
  size_t matches = 0;
  for (auto _ : state) {
    m->Feed(LeakMatcher::kStart,
            {reinterpret_cast<const uint8_t*>(f.content.data()), f.content.size()},
            [&](size_t, size_t) { ++matches; });
  }
  if (matches != 0) state.SkipWithError("unexpected match");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.content.size()));
  state.counters["patterns"] = static_cast<double>(f.patterns.size());
  state.counters["states"] = static_cast<double>(m->state_count());
  state.counters["classes"] = static_cast<double>(m->class_count());
  state.SetLabel(m->dense() ? "dense DFA" : "sparse trie + failure links");
}
BENCHMARK(BM_AhoCorasick_Memory)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

void BM_MemmemPerPattern_Memory(benchmark::State& state) {
  Fixture& f = F();
  size_t matches = 0;
  for (auto _ : state) {
    for (const auto& p : f.patterns) {
      if (::memmem(f.content.data(), f.content.size(), p.data(), p.size()) != nullptr) ++matches;
    }
  }
  if (matches != 0) state.SkipWithError("unexpected match");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.content.size()));
  state.counters["patterns"] = static_cast<double>(f.patterns.size());
}
BENCHMARK(BM_MemmemPerPattern_Memory)->Unit(benchmark::kMillisecond);

void BM_ScanLayerFile(benchmark::State& state) {
  Fixture& f = F();
  std::string path = f.dir + (state.range(0) ? "/layer.tar.gz" : "/layer.tar");
  for (auto _ : state) {
    auto r = f.scanner.ScanLayerFile(path);
    if (!r.ok() || !r->empty()) state.SkipWithError("scan failed or found something");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.content.size()));
  state.SetLabel(state.range(0) ? "gzip" : "tar");
}
BENCHMARK(BM_ScanLayerFile)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

la_ssize_t ReadBlob(struct archive*, void* client, const void** buf) {
  return static_cast<latchkey::image::LayerStream*>(client)->Read(buf);
}

// The scanner's read pipeline with `per_block` run on every data block.
template <typename Fn>
void ReadLayer(const std::string& path, Fn&& per_block) {
  auto reader = latchkey::image::LayerStream::OpenFile(path, /*hash=*/false);
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_open(a, reader->get(), nullptr, ReadBlob, nullptr);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    while (archive_read_data_block(a, &buf, &size, &offset) == ARCHIVE_OK) {
      per_block(static_cast<const char*>(buf), size);
    }
  }
  archive_read_free(a);
}

void BM_ReadOnly_LayerFile(benchmark::State& state) {
  Fixture& f = F();
  std::string path = f.dir + (state.range(0) ? "/layer.tar.gz" : "/layer.tar");
  size_t bytes = 0;
  for (auto _ : state) ReadLayer(path, [&](const char*, size_t n) { bytes += n; });
  benchmark::DoNotOptimize(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.content.size()));
  state.SetLabel(state.range(0) ? "gzip" : "tar");
}
BENCHMARK(BM_ReadOnly_LayerFile)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// The baseline in the streaming pipeline: memmem of every pattern over every block (this even
// misses matches that straddle blocks; handling those would cost more).
void BM_MemmemPerPattern_LayerFile(benchmark::State& state) {
  Fixture& f = F();
  std::string path = f.dir + (state.range(0) ? "/layer.tar.gz" : "/layer.tar");
  size_t matches = 0;
  for (auto _ : state) {
    ReadLayer(path, [&](const char* p, size_t n) {
      for (const auto& pat : f.patterns) {
        if (::memmem(p, n, pat.data(), pat.size()) != nullptr) ++matches;
      }
    });
  }
  if (matches != 0) state.SkipWithError("unexpected match");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.content.size()));
  state.SetLabel(state.range(0) ? "gzip" : "tar");
}
BENCHMARK(BM_MemmemPerPattern_LayerFile)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
