#!/usr/bin/env bash
# Third-party providers run out of process (isolation: process, the default for a plugin not
# shipped with latchkey): a build whose Dockerfile needs a secret from a provider that crashes
# (the fixture-behave test plugin's reference "crash": a NULL dereference) and one from the
# bundled file provider fails only at the step that needs the crashing one, with the build's
# usual error block, and the audit log records provider.crashed. `latchkey plugin list` shows
# each provider's mode. (docs/plugin-abi.md, "Process isolation".)
source "$(dirname "$0")/lib.sh"
plugin="$LATCHKEY_BUILD_DIR/lib/latchkey/test-fixtures/fixture-behave.so"
[ -f "$plugin" ] || fail "missing test plugin $plugin (build the fixtures)"
[ -x "$LATCHKEY_BUILD_DIR/bin/latchkey-provider-host" ] || fail "missing latchkey-provider-host"

write_config "plugins:
  - name: vault
    path: $plugin
    config: {name: crashy}
secrets:
  crashing: {provider: vault, ref: crash}
policy:
  rules:
    - name: test-vault
      secret: crashing
      allow: true
      reason: the process provider test"

# 1. plugin list: the bundled providers inline, the third-party one in its own process.
"$LK" plugin list > "$OUT" 2> "$ERR" || fail "plugin list: $(cat "$OUT" "$ERR")"
grep -qE '^file +[^ ]+ +1\.0 +concurrent +inline ' "$OUT" || fail "plugin list, file: $(cat "$OUT")"
grep -qE '^vault +1\.0\.0 +1\.0 +concurrent +process +list,health ' "$OUT" \
  || fail "plugin list, vault: $(cat "$OUT")"

setup_busybox
ctx=$(new_context ctx)
printf 'file-canary-8812' > "$W/token"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=tok,required wc -c < /run/secrets/tok > /size
RUN --mount=type=secret,id=crashing,required cat /run/secrets/crashing
RUN echo never
DF

# 2. The file step runs; the crashing provider fails its step only, BuildKit's error block.
build_fails --no-cache --secret "id=tok,src=$W/token" "$ctx"
msg='provider "vault" crashed (signal 11, SIGSEGV) while fetching "crashing"; it will be restarted'
expect_eq "$(last_err_line)" "ERROR: failed to solve: $msg" "error of the crashing provider's step"
grep -qE '^#[0-9]+ \[2/4\] RUN --mount=type=secret,id=tok,required wc -c < /run/secrets/tok > /size$' "$ERR" \
  || fail "the file step did not run: $(cat "$ERR")"
grep -qE '^#[0-9]+ ERROR: provider "vault" crashed \(signal 11, SIGSEGV\)' "$ERR" \
  || fail "no '#N ERROR:' line for the crashing step: $(cat "$ERR")"
grep -q 'never' <(grep -vE '^(#[0-9]+ \[|[ 0-9]+ \|)' "$ERR") && fail "a step after the failure ran"
python3 - "$ERR" "$msg" <<'EOP' || fail "error block: $(cat "$ERR")"
import sys
lines = open(sys.argv[1]).read().splitlines()
i = lines.index("Dockerfile:3")
want = [
    "Dockerfile:3",
    "--------------------",
    "   1 |     FROM busybox:test",
    "   2 |     RUN --mount=type=secret,id=tok,required wc -c < /run/secrets/tok > /size",
    "   3 | >>> RUN --mount=type=secret,id=crashing,required cat /run/secrets/crashing",
    "   4 |     RUN echo never",
    "--------------------",
    "ERROR: failed to solve: " + sys.argv[2],
]
assert lines[i:] == want, "\n".join(lines[i:])
EOP

# 3. The audit log: the crash, and the failed fetch it caused; the file value was granted.
audit="$STATE/audit/audit.log"
expect_file_contains "$audit" '"event":"provider.crashed"' "provider.crashed record"
grep -F '"event":"provider.crashed"' "$audit" | grep -F '"provider":"vault","secret":"crashing","signal":11,"signal_name":"SIGSEGV"' > /dev/null \
  || fail "provider.crashed fields: $(grep -F provider.crashed "$audit")"
expect_file_contains "$audit" '"error":"provider \"vault\" crashed (signal 11, SIGSEGV) while fetching \"crashing\"; it will be restarted"' "secret.fetch error record"
expect_file_contains "$audit" '"secret":"tok","outcome":"granted"' "the file secret was granted"
expect_file_lacks "$ALL_OUTPUT" 'file-canary-8812' "the file secret's value in the build output"
"$LK" audit verify > /dev/null 2>&1 || fail "audit verify after a provider crash"

# 4. A hang past fetch_timeout: the host is killed, the step fails with the inline wording.
sed -i 's/^secrets:$/fetch_timeout: 1s\nsecrets:\n  hung: {provider: vault, ref: hang}/; s/      secret: crashing/      secret: [crashing, hung]/' "$LATCHKEY_CONFIG"
printf 'FROM busybox:test\nRUN --mount=type=secret,id=hung,required cat /run/secrets/hung\n' > "$ctx/Dockerfile"
build_fails --no-cache "$ctx"
expect_eq "$(last_err_line)" \
  'ERROR: failed to solve: provider "vault" did not answer within 1s while fetching "hung"' \
  "error of a build whose process provider hangs"
pgrep -f "latchkey-provider-host --plugin $plugin" > /dev/null && fail "a provider host outlived the build"
echo "process provider: OK"
