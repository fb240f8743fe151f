#!/usr/bin/env bash
# Builds the frontend fuzz targets with clang++ -fsanitize=fuzzer,address (compiling the
# frontend sources directly, outside the CMake tree) and runs each for SECONDS (default 60).
# Usage: bash tests/fuzz/run.sh [SECONDS]
# Env: FUZZ_OUT (build/work dir, default /tmp/latchkey-fuzz), FUZZ_JOBS (parallel compiles).
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${FUZZ_OUT:-/tmp/latchkey-fuzz}"
mkdir -p "$out/obj"
cxx="${CXX_FUZZ:-clang++}"
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$root" -I"$root/sdk/include")

# Every frontend library source and the base library it uses (not tests).
srcs=()
for f in "$root"/builder/frontend/*.cc "$root"/base/*.cc; do
  case "$f" in *_test.cc|*_main.cc|*_fuzz.cc|*_bench.cc) continue ;; esac
  srcs+=("$f")
done

echo "fuzz: compiling ${#srcs[@]} frontend and base sources into $out"
objs=()
pids=()
for f in "${srcs[@]}"; do
  o="$out/obj/$(basename "$(dirname "$f")")-$(basename "${f%.cc}").o"
  objs+=("$o")
  if [[ ! -f "$o" || "$f" -nt "$o" || "$0" -nt "$o" ]]; then
    # -fsanitize=fuzzer-no-link instruments library code without pulling in libFuzzer's main.
    "$cxx" "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" \
      -c "$f" -o "$o" &
    pids+=($!)
    if (( ${#pids[@]} >= ${FUZZ_JOBS:-2} )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

status=0
for target in dockerfile_parse_fuzz mount_parse_fuzz; do
  bin="$out/$target"
  "$cxx" "${flags[@]}" "$root/tests/fuzz/$target.cc" "${objs[@]}" -o "$bin"
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  # Seeds: the golden Dockerfiles (the mount target reads them as flag words too).
  for d in "$root"/tests/frontend/dump/*/ "$root"/tests/frontend/outline/*/; do
    [[ -f "$d/Dockerfile" ]] && cp "$d/Dockerfile" "$corpus/seed-$(basename "$d")"
  done
  printf -- '--mount=type=secret,id=npmrc,target=/root/.npmrc,required\n--network=none' \
    > "$corpus/seed-mount"
  echo "fuzz: running $target for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/$target-" "$corpus" \
      > "$out/$target.log" 2>&1; then
    echo "fuzz: $target FAILED (log: $out/$target.log)"
    tail -40 "$out/$target.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$out/$target.log" | tail -2 || true
    echo "fuzz: $target clean"
  fi
done
exit $status
