// Dockerfile parser throughput (MB/s) on a large generated Dockerfile (~4 MB): a mix of
// instructions, line continuations, comments inside continuations, heredocs, JSON (exec)
// form, flags and multi-stage FROMs.
// Run: build-dir/bench/parse_bench --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include <string>

#include "builder/frontend/dump.h"
#include "builder/frontend/instructions.h"
#include "builder/frontend/parser.h"

namespace {

std::string Generate(size_t target_bytes) {
  std::string s = "# syntax=docker/dockerfile:1\nARG BASE=debian:12\n";
  for (int stage = 0; s.size() < target_bytes; ++stage) {
    s += "FROM ${BASE} AS stage" + std::to_string(stage) + "\n";
    s += "ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH LANG=\"C.UTF-8\"\n";
    s += "LABEL org.opencontainers.image.title=\"stage " + std::to_string(stage) +
         "\" version=1.2.3\n";
    s += "WORKDIR /srv/app\n";
    s += "COPY --chown=1000:1000 --link package.json package-lock.json ./\n";
    s += "RUN --mount=type=cache,target=/root/.npm \\\n"
         "    --mount=type=secret,id=npmrc,target=/root/.npmrc,required \\\n"
         "    apt-get update && \\\n"
         "    # install the toolchain\n"
         "    apt-get install -y --no-install-recommends build-essential curl ca-certificates && "
         "\\\n"
         "    npm ci --omit=dev && \\\n"
         "    rm -rf /var/lib/apt/lists/*\n";
    s += "RUN <<EOF bash\nset -eux\nfor i in 1 2 3; do echo \"step $i\"; done\n"
         "cat /etc/os-release\nEOF\n";
    s += "COPY <<-CONF /etc/app.conf\n\tlisten 8080\n\tworkers 4\n\tCONF\n";
    s += "CMD [\"node\", \"server.js\", \"--port\", \"8080\", \"--log-level=info\"]\n";
    s += "ENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n";
    s += "HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost:8080/ || exit 1\n";
    s += "EXPOSE 8080/tcp 9090\nUSER 1000:1000\nONBUILD RUN echo rebuilt\n";
  }
  return s;
}

const std::string& Input() {
  static const std::string kInput = Generate(4 << 20);
  return kInput;
}

// Runs `parse` (Input() -> a Result) once per iteration, failing the benchmark on an error, and
// reports the bytes parsed.
template <typename Fn>
void OverInput(benchmark::State& state, Fn parse) {
  const std::string& in = Input();
  for (auto _ : state) {
    auto r = parse(in);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in.size()));
}

void BM_Parse(benchmark::State& state) {
  OverInput(state, [](const std::string& in) { return latchkey::frontend::Parse(in); });
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond);

void BM_ParseAndDump(benchmark::State& state) {
  OverInput(state, [](const std::string& in) -> latchkey::Result<std::string> {
    LK_ASSIGN_OR_RETURN(auto r, latchkey::frontend::Parse(in));
    return latchkey::frontend::Dump(r);
  });
}
BENCHMARK(BM_ParseAndDump)->Unit(benchmark::kMillisecond);

void BM_ParseInstructions(benchmark::State& state) {
  OverInput(state, [](const std::string& in) { return latchkey::frontend::ParseDockerfile(in); });
}
BENCHMARK(BM_ParseInstructions)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
