#!/usr/bin/env bash
# A provider that never answers a fetch (inline mode; process mode: process_provider_test.sh): the configured fetch_timeout fails the
# step with the exact message, and Ctrl-C during the hung fetch ends the build with exit 130
# within a few seconds (before either, such a build ran forever and ignored SIGINT/SIGTERM).
# The hung plugin is the fixture-behave test plugin with the reference "hang".
source "$(dirname "$0")/lib.sh"
plugin="$LATCHKEY_BUILD_DIR/lib/latchkey/test-fixtures/fixture-behave.so"
[ -f "$plugin" ] || fail "missing test plugin $plugin (build the fixtures)"

config_with_timeout() {  # config_with_timeout DURATION
  write_config "fetch_timeout: $1
plugins:
  - name: behave
    path: $plugin
    isolation: inline
    config: {name: hung}
secrets:
  hung: {provider: behave, ref: hang}
policy:
  rules:
    - name: test-hung
      secret: hung
      allow: true
      reason: the hung-provider test"
}
config_with_timeout 1s
setup_busybox
ctx=$(new_context ctx)
printf 'FROM busybox:test\nRUN --mount=type=secret,id=hung,required cat /run/secrets/hung\n' \
  > "$ctx/Dockerfile"

# 1. The deadline fails the step, naming the provider, the configured value and the secret.
build_fails --no-cache "$ctx"
expect_eq "$(last_err_line)" \
  'ERROR: failed to solve: provider "behave" did not answer within 1s while fetching "hung"' \
  "error of a build whose provider hangs"
expect_file_contains "$STATE/audit/audit.log" \
  '"error":"provider \"behave\" did not answer within 1s while fetching \"hung\""' \
  "audit record of the hung fetch"

# 2. Ctrl-C (SIGINT to the process group) while the fetch hangs: exit 130 within seconds.
config_with_timeout 1h
setsid "$LK" build --progress plain --no-cache "$ctx" > "$OUT" 2> "$ERR" &
pid=$!
track_pid "$pid"
# Generous bounds: these are liveness checks on a loaded CI machine, not timing goals.
for _ in $(seq 600); do grep -q 'RUN --mount' "$ERR" 2> /dev/null && break; sleep 0.1; done
grep -q 'RUN --mount' "$ERR" || fail "the RUN step never started"
sleep 0.5
kill -0 "$pid" 2> /dev/null || fail "the build ended before the signal"
kill -INT -- "-$pid"
waited=0
while kill -0 "$pid" 2> /dev/null && [ "$waited" -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
if kill -0 "$pid" 2> /dev/null; then
  kill -9 "$pid"
  fail "latchkey build still running 30 s after SIGINT during a hung fetch"
fi
set +e; wait "$pid"; rc=$?; set -e
expect_eq "$rc" 130 "exit code of a build interrupted during a hung fetch"
expect_file_contains "$STATE/audit/audit.log" '"reason":"cancelled"' "session.close of the cancelled build"
echo "hung provider: OK (SIGINT took $((waited / 10)).$((waited % 10)) s)"
