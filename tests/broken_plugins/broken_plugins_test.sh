#!/usr/bin/env bash
# Runs latchkey-plugin-check against every deliberately broken plugin and asserts that it fails
# the RIGHT check with the right reason; against the defect-free reference build and the SDK
# example it must pass (in process and through latchkey-provider-host). It then runs the suite on every bundled provider found in
# lib/latchkey/providers (a failure there is a real finding).
set -uo pipefail
build=${LATCHKEY_BUILD_DIR:?LATCHKEY_BUILD_DIR must name the build directory}
check=$build/bin/latchkey-plugin-check
broken=$build/lib/latchkey/broken
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

printf 'canary-9f3e1d7a-alpha' > "$tmp/alpha"
printf 'canary-9f3e1d7a-beta-two' > "$tmp/beta"
args=(--config prefix=canary-9f3e1d7a --ref alpha --expect-file "$tmp/alpha"
      --ref beta --expect-file "$tmp/beta" --cycles 300)

# expect_fail DEFECT CHECK REASON-SUBSTRING
expect_fail() {
  local plugin=$broken/latchkey-broken-$1.so out rc
  [ -f "$plugin" ] || { fail "$plugin was not built"; return; }
  out=$("$check" "$plugin" "${args[@]}" 2>&1); rc=$?
  if [ "$rc" -ne 1 ]; then fail "$1: exit status $rc, want 1"; echo "$out"; return; fi
  if ! grep -qF -- "FAIL $2: " <<<"$out"; then
    fail "$1: no 'FAIL $2' line"; echo "$out"; return
  fi
  if ! grep -F -- "FAIL $2: " <<<"$out" | grep -F -- "$3" > /dev/null; then
    fail "$1: 'FAIL $2' does not say: $3"; grep -F -- "FAIL $2: " <<<"$out"; return
  fi
  if ! grep -qE '^[0-9]+ passed, [1-9][0-9]* failed(, [0-9]+ skipped)?$' <<<"$out"; then
    fail "$1: bad summary line"; echo "$out"; return
  fi
  echo "ok   $1 -> FAIL $2"
}

# expect_pass LABEL PLUGIN ARGS...
expect_pass() {
  local label=$1 plugin=$2 out rc
  shift 2
  [ -f "$plugin" ] || { fail "$plugin was not built"; return; }
  out=$("$check" "$plugin" "$@" 2>&1); rc=$?
  if [ "$rc" -ne 0 ] || grep '^FAIL' <<<"$out" > /dev/null; then
    fail "$label: the suite failed a plugin that should pass"; echo "$out"; return
  fi
  grep -qE '^[0-9]+ passed, 0 failed(, [0-9]+ skipped)?$' <<<"$out" || { fail "$label: summary"; echo "$out"; return; }
  echo "ok   $label passes"
}

expect_pass reference "$broken/latchkey-broken-reference.so" "${args[@]}"
# The suite's second mode, through latchkey-provider-host: the exact crash and hang handling.
out=$("$check" "$broken/latchkey-broken-reference.so" "${args[@]}" 2>&1)
for line in "PASS process-load (broken 0.0.1 in latchkey-provider-host, confined)" \
            "PASS process-fetch-expected" "PASS process-error-path" \
            "PASS process-crash (clean error, fresh host)" \
            "PASS process-hang (timed out, host killed, fresh host)"; do
  grep -qxF -- "$line" <<<"$out" || fail "reference, process mode: no line [$line] in: $(grep -- "process-" <<<"$out")"
done
# A plugin that crashes or ignores its deadline fails only the call in process mode: the
# suite's inline checks catch the defect, its process checks still pass.
out=$("$check" "$broken/latchkey-broken-crashes-health.so" "${args[@]}" 2>&1)
grep -qxF "PASS process-crash (clean error, fresh host)" <<<"$out" \
  || fail "crashes-health, process mode: $out"
# Without the host beside the tool, the process checks are skipped, not failed.
mkdir "$tmp/bin" && cp "$check" "$tmp/bin/"
out=$("$tmp/bin/latchkey-plugin-check" "$broken/latchkey-broken-reference.so" "${args[@]}" 2>&1)
grep -qxF "SKIP process-crash: latchkey-provider-host not found at $tmp/bin/latchkey-provider-host" \
  <<<"$out" || fail "process checks without a host: $out"
printf 'hello from the example' > "$tmp/greeting"
expect_pass hello-example "$build/lib/latchkey/examples/latchkey-hello.so" \
  --config "greeting=hello from the example" --ref greeting --expect-file "$tmp/greeting"

expect_fail extra-export exports-only-entry "exports 1 symbol(s) besides lk_provider_entry: broken_helper"
expect_fail wrong-major load "was built for ABI 2.0; this host supports 1.0 to 1.0"
expect_fail entry-no-out handshake "lk_provider_entry(0, 0) did not write *out"
expect_fail bad-name provider-table 'name "Broken_Name" must be non-empty and use only [a-z0-9-]'
expect_fail accepts-unknown-key config-unknown-key 'create accepted the unknown config key "lk-conformance-unknown-key"'
expect_fail accepts-missing-key config-missing-key 'create accepted the required key "prefix" missing'
expect_fail accepts-bad-int config-wrong-type 'for key "max-len"'
expect_fail reads-past-host struct-size "the plugin crashed (signal 11, SIGSEGV) during: calling fetch \"alpha\" on an instance given a host_api truncated before check_deadline"
expect_fail overflows-error struct-size "with an lk_error whose struct_size leaves 16 message bytes"
expect_fail crashes-health optional-members "the plugin crashed (signal 11, SIGSEGV) during: calling health"
expect_fail data-on-error error-paths "but left data in the response (data non-NULL, len 8)"
expect_fail malloc-data fetch-expected "is not the start of a block from host->secret_alloc"
expect_fail leaks-secret secret-allocations "after destroy, 6 secret block(s) allocated under the instance context were never freed"
expect_fail canary-in-error canary 'the secret served for "alpha" appears (raw) in the error message of fetch'
expect_fail logs-secret-hex canary 'the secret from the SECRET config key "prefix" appears (hex) in a log line'
expect_fail racy concurrent-fetch "concurrent fetches went wrong (the plugin declares LK_THREADING_CONCURRENT)"
expect_fail leaks-fd create-destroy-cycles "open file descriptors grew from"
expect_fail leaks-thread create-destroy-cycles "threads grew from"
expect_fail changes-umask hygiene "during calling create: the umask changed from"
expect_fail changes-signal hygiene "during calling create: the disposition of signal 12 (SIGUSR2) changed from SIG_DFL to handler"
expect_fail sets-env hygiene "during calling create: the environment changed; set: BROKEN_PLUGIN_STATE"
expect_fail sleeps deadline "a fetch whose deadline passed 1 s ago returned after"
expect_fail writes-stderr quiet "bytes to stderr (during: "

# Usage errors: exit 2 and an exact message.
out=$("$check" "$broken/latchkey-broken-reference.so" --config nokey 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "usage error: exit $rc, want 2"
[ "$(head -1 <<<"$out")" = 'latchkey-plugin-check: --config needs KEY=VALUE, got "nokey"' ] ||
  fail "usage error message: $(head -1 <<<"$out")"
out=$("$check" "$broken/latchkey-broken-reference.so" --ref alpha 2>&1); rc=$?
[ "$rc" -eq 2 ] && [ "$(head -1 <<<"$out")" = 'latchkey-plugin-check: --ref alpha has no --expect-file' ] ||
  fail "--ref without --expect-file: exit $rc: $(head -1 <<<"$out")"
out=$("$check" /nonexistent/latchkey-x.so 2>&1); rc=$?
[ "$rc" -eq 1 ] && grep -qF 'FAIL exports-only-entry: cannot open /nonexistent/latchkey-x.so: No such file or directory' <<<"$out" ||
  fail "missing plugin file: exit $rc: $out"

# --json is one valid document with the same verdicts.
out=$("$check" "$broken/latchkey-broken-leaks-fd.so" "${args[@]}" --json); rc=$?
[ "$rc" -eq 1 ] || fail "--json: exit $rc, want 1"
python3 - "$out" <<'PY' || fail "--json output is wrong"
import json, sys
doc = json.loads(sys.argv[1])
failed = [c["name"] for c in doc["checks"] if c["result"] == "fail"]
assert failed == ["create-destroy-cycles"], failed
assert doc["failed"] == 1 and doc["passed"] + doc["failed"] + doc["skipped"] == len(doc["checks"])
PY

# `latchkey plugin check` runs the same suite with the same verdicts and exit codes.
if [ -x "$build/bin/latchkey" ]; then
  a=$("$check" "$broken/latchkey-broken-leaks-fd.so" "${args[@]}" 2>&1); rc_a=$?
  b=$("$build/bin/latchkey" plugin check "$broken/latchkey-broken-leaks-fd.so" "${args[@]}" 2>&1); rc_b=$?
  strip() { sed -E 's/[0-9]+ fds and .*//; s/grew from .*//' <<<"$1"; }
  [ "$rc_a" -eq 1 ] && [ "$rc_b" -eq 1 ] || fail "latchkey plugin check: exit $rc_b, tool exit $rc_a, want 1"
  [ "$(strip "$a")" = "$(strip "$b")" ] || { fail "latchkey plugin check differs from the tool"; diff <(echo "$a") <(echo "$b"); }
  out=$("$build/bin/latchkey" plugin check "$broken/latchkey-broken-reference.so" --threads x 2>&1); rc=$?
  [ "$rc" -eq 2 ] && [ "$(head -1 <<<"$out")" = 'error: --threads needs a whole number from 1 to 256, got "x"' ] ||
    fail "latchkey plugin check usage error: exit $rc: $(head -1 <<<"$out")"
  echo "ok   latchkey plugin check matches latchkey-plugin-check"
fi

# Every bundled provider must pass. Config and refs per provider (see plugins/<name>/).
shopt -s nullglob
for plugin in "$build"/lib/latchkey/providers/latchkey-*.so; do
  name=$(basename "$plugin" .so); name=${name#latchkey-}
  case $name in
    file)
      printf 'file-provider-canary-value\n' > "$tmp/file-secret"
      expect_pass "bundled file" "$plugin" --ref "$tmp/file-secret" --expect-file "$tmp/file-secret"
      ;;
    env)
      printf 'env-provider-canary-value' > "$tmp/env-secret"
      LK_CONFORMANCE_ENV_SECRET=env-provider-canary-value \
        expect_pass "bundled env" "$plugin" --ref LK_CONFORMANCE_ENV_SECRET --expect-file "$tmp/env-secret"
      ;;
    store)
      # Needs a store to serve: tests/store/store_plugin_check_test.sh runs the suite on it
      # against a real store with a seeded canary.
      echo "skip bundled store (covered by tests/store/store_plugin_check_test.sh)"
      ;;
    *)
      expect_pass "bundled $name" "$plugin"
      ;;
  esac
done

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all broken plugins caught"
