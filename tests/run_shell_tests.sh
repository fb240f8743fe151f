#!/usr/bin/env bash
# Runs every tests/*/*_test.sh (end-to-end scripts that drive the built binaries) with the build
# directory as $1. Each script exits non-zero on failure. Prints "N passed, N failed".
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0; fail=0; failed=()
shopt -s nullglob
for t in "$root"/tests/*/*_test.sh; do
  name=${t#"$root"/}
  if LATCHKEY_BUILD_DIR="$build" LATCHKEY_SOURCE_DIR="$root" bash "$t" > "/tmp/lk-shell-test.log" 2>&1; then
    pass=$((pass + 1)); echo "PASS $name"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name"; sed 's/^/    /' /tmp/lk-shell-test.log | tail -40
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
