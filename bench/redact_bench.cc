// Redaction throughput (issue 10): SecretRegistry::Redact over step output, and the cost of
// registering and unregistering values (what a session does per fetched secret and at close).
//
//   BM_Redact/<secrets>          1 MiB of output-like text (lines over the secrets' alphabet, one
//                                secret every ~64 KiB) redacted in 4 KiB pieces, as the
//                                executor's RedactingStream and the progress writers pass it
//   BM_RegistryAddRemove/<n>     Add n values (raw, encodings and parts derived), then Remove
//                                them one by one; time per value
//
// Run: build-release/bench/redact_bench (figures in bench/README.md). Bytes/s are input bytes.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "secure/redactor.h"
#include "secure/secret_buffer.h"

namespace {

using latchkey::SecretBuffer;
using latchkey::SecretRegistry;

constexpr size_t kTextSize = 1 << 20;
constexpr size_t kPiece = 4096;

const std::string& Alphabet() {
  static const std::string a =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.:%\" {}";
  return a;
}

std::vector<std::string> Values(int n, std::mt19937_64& rng) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string v = "ghp_";
    for (int j = 0; j < 36; ++j) v.push_back(Alphabet()[rng() % 62]);
    out.push_back(std::move(v));
  }
  return out;
}

std::shared_ptr<const SecretBuffer> Secret(const std::string& v) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  return std::make_shared<const SecretBuffer>(std::move(*buf));
}

void BM_Redact(benchmark::State& state) {
  std::mt19937_64 rng(11);
  std::vector<std::string> values = Values(static_cast<int>(state.range(0)), rng);
  SecretRegistry reg;
  for (const auto& v : values) {
    if (!reg.Add(Secret(v)).ok()) state.SkipWithError("Add failed");
  }
  std::string text;
  while (text.size() < kTextSize) {
    if (text.size() % (64 << 10) < 100) text += " token=" + values[rng() % values.size()] + " ";
    size_t len = 20 + rng() % 100;
    for (size_t i = 0; i < len; ++i) text.push_back(Alphabet()[rng() % Alphabet().size()]);
    text.push_back('\n');
  }
  size_t out_bytes = 0;
  for (auto _ : state) {
    for (size_t at = 0; at < text.size(); at += kPiece) {
      out_bytes += reg.Redact(std::string_view(text).substr(at, kPiece)).size();
    }
  }
  benchmark::DoNotOptimize(out_bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Redact)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_RegistryAddRemove(benchmark::State& state) {
  std::mt19937_64 rng(13);
  std::vector<std::shared_ptr<const SecretBuffer>> secrets;
  for (const auto& v : Values(static_cast<int>(state.range(0)), rng)) secrets.push_back(Secret(v));
  for (auto _ : state) {
    SecretRegistry reg;
    std::vector<uint64_t> handles;
    for (const auto& s : secrets) handles.push_back(*reg.Add(s));
    benchmark::DoNotOptimize(reg.Redact("warm"));
    for (uint64_t h : handles) reg.Remove(h);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * secrets.size()));
}
BENCHMARK(BM_RegistryAddRemove)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
