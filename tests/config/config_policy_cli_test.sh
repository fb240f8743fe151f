#!/usr/bin/env bash
# End-to-end: `latchkey config check` and `latchkey policy explain` against real files.
set -euo pipefail
bin="$LATCHKEY_BUILD_DIR/bin/latchkey"
src="$LATCHKEY_SOURCE_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# run CMD...: sets $out, $err, $rc.
run() {
  set +e
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  out=$(cat "$tmp/out"); err=$(cat "$tmp/err")
}

# 1. The example file is valid; secret-looking plugin values are masked.
cp "$src/config/latchkey.example.yaml" "$tmp/ok.yaml"
sed -i 's|      unlock_key_file: /etc/latchkey/store.key|      unlock_key_file: /etc/latchkey/store.key\n      api_token: hunter2-not-shown|' "$tmp/ok.yaml"
run "$bin" config check "$tmp/ok.yaml"
[ "$rc" -eq 0 ] || fail "config check of the example: rc=$rc err=$err"
grep -qx "# effective configuration: $tmp/ok.yaml is valid" <<<"$out" || fail "header: $out"
grep -q 'api_token: "\*\*\*\*"' <<<"$out" || fail "api_token not masked: $out"
! grep -q hunter2 <<<"$out$err" || fail "secret value printed"
grep -q 'name: ci-registry' <<<"$out" || fail "rules not printed"

# 2. Invalid file: exit 1, every problem with file:line:col on stderr, nothing on stdout.
printf 'audit:\n  fsyncc: group\npolicy:\n  rules:\n    - {name: a, allow: maybe, reason: r}\n' >"$tmp/bad.yaml"
run "$bin" config check "$tmp/bad.yaml"
[ "$rc" -eq 1 ] || fail "bad config rc=$rc"
[ -z "$out" ] || fail "stdout not empty: $out"
expected="$tmp/bad.yaml:2:3: audit.fsyncc: unknown key (did you mean fsync?)
$tmp/bad.yaml:5:24: policy.rules[0].allow: expected a boolean, got \"maybe\""
[ "$err" = "$expected" ] || fail "bad config stderr: $err"

# 3. Missing file, YAML syntax error.
run "$bin" config check "$tmp/none.yaml"
[ "$rc" -eq 1 ] && [ "$err" = "cannot read configuration file $tmp/none.yaml: No such file or directory" ] \
  || fail "missing file: rc=$rc err=$err"
printf 'a: [1\n' >"$tmp/syntax.yaml"
run "$bin" config check "$tmp/syntax.yaml"
[ "$rc" -eq 1 ] && [ "$err" = "$tmp/syntax.yaml:2:1: invalid YAML: end of sequence flow not found" ] \
  || fail "syntax: rc=$rc err=$err"

# 4. No file at all: defaults (LATCHKEY_CONFIG empty, /etc file absent on this machine or not).
if [ ! -e /etc/latchkey/latchkey.yaml ]; then
  run env -u LATCHKEY_CONFIG HOME="$tmp" "$bin" config check
  [ "$rc" -eq 0 ] || fail "defaults rc=$rc err=$err"
  grep -q 'built-in defaults' <<<"$out" || fail "defaults header: $out"
  grep -q "latchkey-file.so" <<<"$out" || fail "bundled plugin path missing: $out"
fi
# $LATCHKEY_CONFIG is honoured.
run env LATCHKEY_CONFIG="$tmp/bad.yaml" "$bin" config check
[ "$rc" -eq 1 ] || fail "LATCHKEY_CONFIG not used: rc=$rc"

# 5. Usage error.
run "$bin" config check a b
[ "$rc" -eq 2 ] || fail "usage rc=$rc"

# 6. policy explain.
pol="$src/config/policy-examples/lockdown.yaml"
run "$bin" --config "$pol" policy explain --secret npmrc --source env:NPM_TOKEN
[ "$rc" -eq 0 ] || fail "explain rc=$rc err=$err"
grep -q '^deny by rule "no-env" (policy.rules\[0\], .*lockdown.yaml:[0-9]*): environment variables are visible in /proc and CI logs$' <<<"$out" \
  || fail "explain env: $out"
mkdir -p "$tmp/srv"
run "$bin" --config "$pol" policy explain --secret npmrc --source "file:$tmp/srv/x" --exit-code
[ "$rc" -eq 3 ] || fail "explain --exit-code deny rc=$rc"
grep -q '^  rule "no-env" skipped: source is file, rule wants env$' <<<"$out" || fail "skip line: $out"
grep -q "^deny by rule \"build-tree-only\"" <<<"$out" || fail "explain file: $out"
run "$bin" --config "$src/config/latchkey.example.yaml" policy explain --secret registry-token \
  --user ci-7 --uid 1001 --label pipeline=release-2 --dockerfile /srv/ci/app/Dockerfile --context /srv/ci/app
[ "$rc" -eq 0 ] || fail "explain binding rc=$rc err=$err"
grep -q '^secret "registry-token" from binding secrets.registry-token: provider store, ref ci/registry-token$' <<<"$out" || fail "origin: $out"
grep -q '^allow by rule "ci-registry"' <<<"$out" || fail "explain binding: $out"
run "$bin" --config "$pol" policy explain --secret npmrc --provider nope
[ "$rc" -eq 1 ] && [ "$err" = 'unknown provider "nope" (configured: file, env, store, dockerconfig)' ] || fail "unknown provider: rc=$rc err=$err"
run "$bin" --config "$pol" policy explain --secret npmrc
[ "$rc" -eq 2 ] || fail "no source rc=$rc"
run "$bin" --config "$pol" policy explain --secret npmrc --source disk:/x
[ "$rc" -eq 2 ] && [ "$err" = "--source disk:/x: expected file:PATH, env:VAR or store:REF" ] || fail "bad source: $err"
run "$bin" --config "$pol" policy explain --source env:X
[ "$rc" -eq 2 ] || fail "missing --secret rc=$rc"
# A store secret named with --secret type=store is declared: allowed with no rule.
echo "state_dir: $tmp/state" > "$tmp/empty.yaml"
run "$bin" --config "$tmp/empty.yaml" policy explain --secret npmrc --source store:ci-npmrc@2
[ "$rc" -eq 0 ] || fail "explain store rc=$rc err=$err"
[ "$out" = 'secret "npmrc" from declared store secret ci-npmrc@2
allow by rule "declared-source" (built in): declared with --secret (store secret); allowed for this session only' ] \
  || fail "explain declared store: $out"
echo ok
