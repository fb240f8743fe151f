#!/usr/bin/env bash
# `make bench`: runs every benchmark binary built from bench/*_bench.cc. Figures and how to read
# them are in bench/README.md. Pass a build directory as $1 (default: build).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
export LATCHKEY_BUILD_DIR="$build"
export LATCHKEY_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
for b in "$build"/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.5
done
