// TimedLoop: a Google Benchmark loop that also times every iteration on its own and reports
// the p50 and p99 of those timings in microseconds (counters p50_us and p99_us), since a mean
// hides the tail a caller waits on. Shared by the fetch and GetSecret benchmarks.
#ifndef LATCHKEY_BENCH_TIMED_LOOP_H_
#define LATCHKEY_BENCH_TIMED_LOOP_H_

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace latchkey::bench {

// Runs `call` (returning a Result<T>) once per iteration; the first failure ends the run
// with SkipWithError(status).
template <typename Fn>
void TimedLoop(benchmark::State& state, Fn call) {
  std::vector<double> ns;
  ns.reserve(1 << 20);
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto r = call();
    auto stop = std::chrono::steady_clock::now();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(*r);
    ns.push_back(std::chrono::duration<double, std::nano>(stop - start).count());
  }
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) {
    return ns[static_cast<size_t>(p * static_cast<double>(ns.size() - 1))] / 1000.0;
  };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
}

}  // namespace latchkey::bench

#endif  // LATCHKEY_BENCH_TIMED_LOOP_H_
