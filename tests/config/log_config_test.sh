#!/usr/bin/env bash
# End-to-end: the configuration's `log:` section sets the operational log's level and format
# when no --log-level / --log-format flag is given; a flag wins over the file.
set -euo pipefail
bin="$LATCHKEY_BUILD_DIR/bin/latchkey"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/ctx"
printf 'FROM scratch\nCOPY f /f\n' > "$tmp/ctx/Dockerfile"
echo data > "$tmp/ctx/f"
printf 'state_dir: %s/state\nlog:\n  level: debug\n  format: json\n' "$tmp" > "$tmp/debug.yaml"
printf 'state_dir: %s/state\n' "$tmp" > "$tmp/plain.yaml"

LATCHKEY_CONFIG="$tmp/debug.yaml" "$bin" build --progress quiet "$tmp/ctx" 2> "$tmp/err"
grep -q '"level":"debug".*cache key' "$tmp/err" || fail "log.level debug / format json from the config not applied: $(cat "$tmp/err")"

LATCHKEY_CONFIG="$tmp/debug.yaml" "$bin" --log-level info build --progress quiet "$tmp/ctx" 2> "$tmp/err"
! grep -q 'cache key' "$tmp/err" || fail "--log-level info did not win over the config"

LATCHKEY_CONFIG="$tmp/plain.yaml" "$bin" build --progress quiet "$tmp/ctx" 2> "$tmp/err"
! grep -q 'cache key' "$tmp/err" || fail "debug lines without log.level debug"
echo "log config: OK"
