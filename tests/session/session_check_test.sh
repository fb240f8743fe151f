#!/usr/bin/env bash
# `latchkey session check`: fetches through policy, providers and the audit log; prints sizes,
# never values; exact errors for unknown ids and bad flags.
set -euo pipefail
lk="$LATCHKEY_BUILD_DIR/bin/latchkey"
work=$(mktemp -d /tmp/lk-session-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'state_dir: %s/state\n' "$work" > "$work/latchkey.yaml"
export LATCHKEY_CONFIG="$work/latchkey.yaml"
canary_file="canary-file-$$-91c2"
printf '%s' "$canary_file" > "$work/token"
export LK_TEST_CANARY_ENV="canary-env-$$-77ab"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "expected [$2], got [$1]"; }

out=$("$lk" session check --secret "id=token,src=$work/token" \
        --secret id=envtok,env=LK_TEST_CANARY_ENV 2>"$work/err")
echo "$out"
grep -qE "^GRANTED   token: ${#canary_file} bytes from provider file version mtime=[0-9]+\.[0-9]{9},ino=[0-9]+$" <<<"$out" || fail "file grant line"
grep -q "^GRANTED   envtok: ${#LK_TEST_CANARY_ENV} bytes from provider env$" <<<"$out" || fail "env grant line"
grep -q "^session [0-9a-f]\{32\} closed; audit log: $work/state/audit/audit.log$" <<<"$out" || fail "close line"

# Unknown id: exit 1 and the sources tried.
set +e
out=$("$lk" session check --fetch nope 2>>"$work/err"); rc=$?
set -e
expect_eq "$rc" 1
grep -qF 'FAILED    nope: secret nope: not found (tried: no --secret flag declares id "nope"; the configuration'"'"'s secrets map has no entry "nope")' <<<"$out" || fail "not found line: $out"

# Bad flag: exact buildx text.
set +e
err=$("$lk" session check --secret src=/etc/hostname 2>&1 >/dev/null); rc=$?
set -e
expect_eq "$rc" 1
expect_eq "$err" "error: secret missing ID"

# env= naming an unset variable is an error naming it (buildx would send an empty secret).
set +e
err=$(env -u LK_UNSET_VAR "$lk" session check --secret id=x,env=LK_UNSET_VAR 2>&1 >/dev/null); rc=$?
set -e
expect_eq "$rc" 1
expect_eq "$err" "error: secret x: environment variable LK_UNSET_VAR is not set"

# The audit log verifies, and no canary is anywhere: output, stderr, state directory.
"$lk" audit verify --state-dir "$work/state" --pubkey "$work/state/audit-signing.pub" >/dev/null
for c in "$canary_file" "$LK_TEST_CANARY_ENV"; do
  ! grep -qF "$c" <<<"$out" || fail "canary in stdout"
  ! grep -qF "$c" "$work/err" || fail "canary in stderr"
  ! grep -rqF "$c" "$work/state" || fail "canary in the state directory"
done
echo ok
