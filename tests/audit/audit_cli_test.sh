#!/usr/bin/env bash
# End-to-end checks of `latchkey audit keygen|hash|verify|search` against a fixture log
# (tests/audit/fixtures, see its README): exact output, exact errors, exit codes 0/1/2.
set -euo pipefail
build=${LATCHKEY_BUILD_DIR:?}
src=${LATCHKEY_SOURCE_DIR:?}
lk="$build/bin/latchkey"
fx="$src/tests/audit/fixtures"
work=$(mktemp -d /tmp/lk-audit-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT

fails=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    echo "FAIL $1"; echo "  expected: $2"; echo "  actual:   $3"; fails=$((fails + 1))
  else
    echo "ok   $1"
  fi
}
run() {  # run CMD... ; sets out, err, rc
  set +e
  out=$("$@" 2>"$work/stderr"); rc=$?
  set -e
  err=$(cat "$work/stderr")
}

state="$work/state"
mkdir -p "$state/audit"
cp "$fx/audit-signing.pub" "$fx/audit-hmac.key" "$state/"
cp "$fx/audit/audit.log" "$fx/audit/audit.head" "$state/audit/"
chmod 600 "$state/audit-hmac.key"
log="$state/audit/audit.log"
logid=e4591554cbf58fdbf7609eb3a0804c57
keyid=ed25519:1f4667dd78e4b13f
npm_hmac=hmac-sha256:28fed95c4ff16adced00a74dec13a85f75f59ef633b2342c45ea0f67cf61292d

# verify: intact
run "$lk" audit verify --state-dir "$state"
check "verify ok rc" 0 "$rc"
check "verify ok output" \
  "OK: 11 records (seq 1-11) in 1 file, log $logid; 2 checkpoints signed by $keyid, last at seq 11" "$out"

# hash + search
printf '%s' fixture-npm-token-0001 > "$work/value"
run "$lk" audit hash --value-file "$work/value" --state-dir "$state"
check "hash rc" 0 "$rc"
check "hash output" "$npm_hmac" "$out"
run bash -c "printf '%s' fixture-npm-token-0001 | '$lk' audit hash --value-file - --state-dir '$state'"
check "hash stdin" "$npm_hmac" "$out"
run "$lk" audit search "$log" --hmac "$npm_hmac" --format json
check "search hmac json count" 2 "$(printf '%s\n' "$out" | grep -c '"secret":"npmrc"')"
check "search never prints the value" 0 "$(printf '%s\n' "$out" | grep -c fixture-npm-token || true)"
run "$lk" audit search "$log" --session s-0002 --outcome granted --secret pip
check "search table" "TIME                      EVENT         OUTCOME  SESSION  SECRET  STEP             PROVIDER  RULE       HMAC
2026-11-20T10:07:00.000Z  secret.fetch  granted  s-0002   pip     build #2 line 5  file      allow-pip  hmac-sha256:90066db3ecef4eed..." "$out"
run "$lk" audit search "$log" --since 2026-11-20T10:08:00Z --until 2026-11-20T10:09:00Z --format json
check "search time window" 2 "$(printf '%s\n' "$out" | wc -l)"
run "$lk" audit search "$log" --since yesterday
check "search bad since rc" 2 "$rc"
check "search bad since msg" \
  'error: --since: invalid time "yesterday": expected RFC 3339 (2026-01-02T15:04:05Z) or a duration like 24h, 30m, 90s or 7d' "$err"

# verify: tampering
cp "$log" "$work/orig.log"
sed -i 's/"secret":"aws"/"secret":"gcp"/' "$log"
run "$lk" audit verify --state-dir "$state"
check "edited rc" 1 "$rc"
check "edited output" \
  "FAIL: $log:4: seq 4: prev does not match the hash of record 3: that record was edited, or records were replaced" "$out"
cp "$work/orig.log" "$log"; sed -i '3d' "$log"
run "$lk" audit verify --state-dir "$state"
check "deleted output" "FAIL: $log:3: seq 4: follows seq 2: record 3 is missing (deleted or moved)" "$out"
head -n 9 "$work/orig.log" > "$log"
run "$lk" audit verify --state-dir "$state"
check "truncated rc" 1 "$rc"
check "truncated output" \
  "FAIL: $state/audit/audit.head: the head file records seq 11 but the log ends at seq 9: records 10-11 were removed (truncated)" "$out"
run "$lk" audit verify --state-dir "$state" --no-head
check "truncated no-head rc" 0 "$rc"
check "truncated no-head output" \
  "OK: 9 records (seq 1-9) in 1 file, log $logid; 1 checkpoints signed by $keyid, last at seq 5
warning: 4 records after the last checkpoint (seq 5) are not covered by a signature
warning: session s-0002 (opened at seq 6) has no session.close: still running, or the log was cut short" "$out"
run "$lk" audit verify --state-dir "$state" --no-head --strict
check "truncated strict rc" 1 "$rc"
cp "$work/orig.log" "$log"

# keygen
keys="$work/keys"
run "$lk" audit keygen --state-dir "$keys"
check "keygen rc" 0 "$rc"
check "keygen modes" "600 644 600" \
  "$(stat -c %a "$keys/audit-signing.key") $(stat -c %a "$keys/audit-signing.pub") $(stat -c %a "$keys/audit-hmac.key")"
run "$lk" audit keygen --state-dir "$keys"
check "keygen again rc" 1 "$rc"
check "keygen again msg" \
  "error: audit keys already exist in $keys (audit-signing.key); pass --force to replace them" "$err"
run "$lk" audit keygen --state-dir "$keys" --force
check "keygen force rc" 0 "$rc"

# verify with another key
run "$lk" audit verify "$log" --pubkey "$keys/audit-signing.pub"
check "other key rc" 1 "$rc"
otherid=$(printf '%s' "$out" | sed -n 's/.*not by the given public key \(.*\)$/\1/p')
check "other key output" \
  "FAIL: $log:5: seq 5: checkpoint is signed by key $keyid, not by the given public key $otherid" "$out"

# errors
run "$lk" audit hash --value-file "$work/value" --state-dir "$work/nowhere"
check "hash no key rc" 1 "$rc"
check "hash no key msg" \
  "error: audit HMAC key $work/nowhere/audit-hmac.key not found; create the audit keys with \`latchkey audit keygen --state-dir $work/nowhere\`" "$err"
chmod 644 "$state/audit-hmac.key"
run "$lk" audit hash --value-file "$work/value" --state-dir "$state"
check "hash loose key msg" \
  "error: audit HMAC key $state/audit-hmac.key is readable by group or others (mode 0644); run: chmod 600 $state/audit-hmac.key" "$err"
chmod 600 "$state/audit-hmac.key"
run "$lk" audit verify "$work/missing.log" --pubkey "$state/audit-signing.pub"
check "verify missing rc" 1 "$rc"
check "verify missing msg" "error: audit log $work/missing.log not found" "$err"
run "$lk" audit verify "$log" --state-dir "$work/nowhere"
check "verify no pubkey msg" \
  "error: audit public key $work/nowhere/audit-signing.pub not found; pass --pubkey with a copy of audit-signing.pub" "$err"
run "$lk" audit
check "no subcommand rc" 2 "$rc"
run "$lk" audit hash
check "hash without --value-file rc" 2 "$rc"

[ "$fails" -eq 0 ] && echo "all audit CLI checks passed"
exit "$fails"
