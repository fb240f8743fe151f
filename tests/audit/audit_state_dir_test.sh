#!/usr/bin/env bash
# Issue 11 item 4: `audit keygen|hash|verify|search` and `store status` use the state directory,
# audit log and key files of the loaded configuration -- where builds write -- not a default
# beside it; `audit.hmac_key_file` is used; `audit search --hmac` with a hash made with another
# HMAC key fails instead of finding nothing.
set -euo pipefail
build=${LATCHKEY_BUILD_DIR:?}
lk="$build/bin/latchkey"
work=$(mktemp -d /tmp/lk-audit-state-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected [$2], got [$1]"; }
run() {  # run CMD... ; sets out, err, rc
  set +e
  out=$("$@" 2>"$work/stderr"); rc=$?
  set -e
  err=$(cat "$work/stderr")
}
# Nothing may land in a default state directory: HOME is a fresh dir we check is left empty.
export HOME="$work/home"
mkdir -p "$HOME"
unset XDG_STATE_HOME
state="$work/state"
cat > "$work/latchkey.yaml" <<YAML
state_dir: $state
audit:
  hmac_key_file: $work/keys/hmac.key
YAML
export LATCHKEY_CONFIG="$work/latchkey.yaml"
printf 'state-dir-canary-6060' > "$work/token"

# keygen writes the configured files.
run "$lk" audit keygen
expect_eq "$rc" 0 "audit keygen exit code ($err)"
expect_eq "$(head -n1 <<<"$out")" "created $state/audit-signing.key (0600), $state/audit-signing.pub (0644) and $work/keys/hmac.key (0600)" "keygen output"
[ -f "$work/keys/hmac.key" ] || fail "the configured hmac_key_file was not created"
[ ! -e "$state/audit-hmac.key" ] || fail "an unconfigured audit-hmac.key was created"

# A session writes the log; its value_hmac is made with the configured key.
run "$lk" session check --secret "id=tok,src=$work/token"
expect_eq "$rc" 0 "session check ($err)"
run "$lk" audit hash --value-file "$work/token"
expect_eq "$rc" 0 "audit hash ($err)"
hmac=$out
grep -q "\"value_hmac\":\"$hmac\"" "$state/audit/audit.log" \
  || fail "the log's value_hmac is not made with audit.hmac_key_file"

# search and verify read that log without --state-dir.
run "$lk" audit search --hmac "$hmac" --format json
expect_eq "$rc" 0 "audit search ($err)"
expect_eq "$(grep -c '"secret":"tok".*"outcome":"granted"' <<<"$out")" 1 "granted records found by --hmac"
run "$lk" audit verify
expect_eq "$rc" 0 "audit verify ($out $err)"
grep -q "^OK" <<<"$out" || fail "audit verify: $out"

# A hash made with another key: a clear error, exit 1.
run "$lk" audit keygen --state-dir "$work/other"
expect_eq "$rc" 0 "keygen --state-dir ($err)"
run "$lk" audit hash --value-file "$work/token" --state-dir "$work/other"
other_hmac=$out
run "$lk" audit search --hmac "$other_hmac" --hmac-key "$work/other/audit-hmac.key"
expect_eq "$rc" 1 "search with another key: exit code"
logged_id=$(grep -m1 -o '"hmac_key_id":"[^"]*"' "$state/audit/audit.log" | cut -d'"' -f4)
other_id=$(grep -o '"hmac_key_id":"[^"]*"' "$state/audit/audit.log" | grep -v "$logged_id" || true)
[ -z "$other_id" ] || fail "the log names two HMAC keys"
[[ "$err" == "error: HMAC key $work/other/audit-hmac.key (hmac:"*") is not the key the audit log $state/audit/audit.log was written with ($logged_id): no value hashed with it can match; hash the value with the log's key (--hmac-key, or the --config / --state-dir of the builds that wrote the log)" ]] \
  || fail "search with another key: [$err]"

# store status looks for the store under the configured state directory.
run "$lk" store status
expect_eq "$rc" 1 "store status without a store"
[[ "$err" == *"$state/store/secrets.db"* ]] || fail "store status does not look in the configured state_dir: [$err]"

[ -z "$(ls -A "$HOME")" ] || fail "something was written under HOME: $(find "$HOME")"
grep -rq "state-dir-canary-6060" "$state" && fail "the value is in the state directory"
echo "audit state dir: OK"
