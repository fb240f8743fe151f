#!/usr/bin/env bash
# Runs every tests/*/*_test.sh (end-to-end scripts that drive the built binaries) with the build
# directory as $1. Each script exits non-zero on failure. Prints "N passed, N failed" and how
# long each script took. A script's output goes to a log file of this run (never a fixed /tmp
# name, so two runs on one machine do not mix).
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp /tmp/lk-shell-test.XXXXXX)
trap 'rm -f "$log"' EXIT
pass=0; fail=0; failed=()
shopt -s nullglob
for t in "$root"/tests/*/*_test.sh; do
  name=${t#"$root"/}
  start=$SECONDS
  if LATCHKEY_BUILD_DIR="$build" LATCHKEY_SOURCE_DIR="$root" bash "$t" > "$log" 2>&1; then
    pass=$((pass + 1)); echo "PASS $name ($((SECONDS - start)) s)"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name ($((SECONDS - start)) s)"
    sed 's/^/    /' "$log" | tail -40
  fi
done
echo "$pass passed, $fail failed${failed[*]:+: ${failed[*]}}"
[ "$fail" -eq 0 ]
