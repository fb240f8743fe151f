#!/usr/bin/env bash
# End-to-end: `latchkey secret ...` and `latchkey store ...` against a real store on disk.
# Asserts exit codes and exact messages; checks that no command prints secret data.
set -euo pipefail
lk="$LATCHKEY_BUILD_DIR/bin/latchkey"
tmp=$(mktemp -d /tmp/lk-store-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export LATCHKEY_STORE_PWHASH_LIMITS=min
db="$tmp/s/secrets.db"; key="$tmp/s/unlock.key"
S=(--store "$db" --unlock-key-file "$key")
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC EXPECTED_STDERR_LINE -- command...: runs the command, checks exit code and stderr.
expect() {
  local rc=$1 msg=$2; shift 3
  local out err got
  set +e; out=$("$@" 2>"$tmp/err"); got=$?; set -e
  err=$(cat "$tmp/err")
  [ "$got" = "$rc" ] || fail "exit $got (want $rc): $*  stderr: $err"
  if [ -n "$msg" ] && [ "$err" != "$msg" ]; then fail "stderr of $*: got [$err] want [$msg]"; fi
  printf '%s' "$out" > "$tmp/out"
}

# --- init ------------------------------------------------------------------------------
expect 0 "" -- "$lk" store init "${S[@]}"
grep -q "^    LKSKEY-1-[A-Za-z0-9+/]\{43\}=$" "$tmp/out" || fail "init did not print the key"
printed=$(grep -o "LKSKEY-1-.*" "$tmp/out")
[ "$(cat "$key")" = "$printed" ] || fail "key file differs from the printed key"
[ "$(stat -c %a "$key")" = 600 ] || fail "key file mode $(stat -c %a "$key")"
[ "$(stat -c %a "$tmp/s")" = 700 ] || fail "store dir mode"
expect 1 "error: store $db already exists" -- "$lk" store init --store "$db" --unlock-key-file "$tmp/k2"
[ ! -e "$tmp/k2" ] || fail "a failed init left a key file"

# --- create / ls / inspect -------------------------------------------------------------
printf 'token=SECRET-ONE' > "$tmp/one"
expect 0 "" -- "$lk" secret create ci-npmrc "$tmp/one" --label team=web --label env=ci "${S[@]}"
[ "$(cat "$tmp/out")" = "ci-npmrc" ] || fail "create output: $(cat "$tmp/out")"
printf 'SECRET-TWO' > "$tmp/two"; printf 'SECRET-THREE' > "$tmp/three"
expect 0 "" -- "$lk" secret create pip-conf - "${S[@]}" <"$tmp/two"
expect 0 "" -- "$lk" secret create db-pass "${S[@]}" <"$tmp/three"
expect 1 "error: secret ci-npmrc already exists" -- "$lk" secret create ci-npmrc "$tmp/one" "${S[@]}"
expect 1 "error: invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]" \
  -- "$lk" secret create ci/npmrc "$tmp/one" "${S[@]}"
: > "$tmp/empty"
expect 1 "error: secret data must be larger than 0 and less than 512000 bytes" -- "$lk" secret create e "$tmp/empty" "${S[@]}"
head -c 512000 /dev/zero > "$tmp/big"
expect 1 "error: secret data must be larger than 0 and less than 512000 bytes" -- "$lk" secret create e "$tmp/big" "${S[@]}"
expect 1 "error: secret file $tmp/nope does not exist" -- "$lk" secret create e "$tmp/nope" "${S[@]}"
expect 2 "error: invalid label \"team\": expected key=value with a non-empty key" -- "$lk" secret create e "$tmp/one" --label team "${S[@]}"

expect 0 "" -- "$lk" secret ls "${S[@]}"
[ "$(awk 'NR>1{print $1}' "$tmp/out" | tr '\n' ' ')" = "ci-npmrc db-pass pip-conf " ] || fail "ls: $(cat "$tmp/out")"
head -1 "$tmp/out" | grep "^NAME  *VERSION  *CREATED  *UPDATED  *LABELS$" > /dev/null || fail "ls header"
expect 0 "" -- "$lk" secret ls --filter name=ci --format json "${S[@]}"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [x["name"] for x in j]==["ci-npmrc"], j; assert j[0]["labels"]=={"team":"web","env":"ci"}; assert j[0]["version"]==1' "$tmp/out" || fail "ls json"
expect 0 "" -- "$lk" secret ls --filter label=team=web --filter label=env --format json "${S[@]}"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [x["name"] for x in j]==["ci-npmrc"], j' "$tmp/out" || fail "ls label filter"
expect 2 "error: invalid filter \"id=x\": expected name=<prefix>, label=<key> or label=<key>=<value>" -- "$lk" secret ls --filter id=x "${S[@]}"
expect 2 "" -- "$lk" secret ls --format yaml "${S[@]}"

# --- rotate / versions -----------------------------------------------------------------
printf 'token=SECRET-ONE-v2' > "$tmp/v2"
expect 0 "" -- "$lk" secret rotate ci-npmrc "${S[@]}" <"$tmp/v2"
[ "$(cat "$tmp/out")" = "ci-npmrc@2" ] || fail "rotate output: $(cat "$tmp/out")"
printf 'token=SECRET-ONE-v3' > "$tmp/v3"
expect 0 "" -- "$lk" secret rotate ci-npmrc "$tmp/v3" "${S[@]}"
expect 0 "" -- "$lk" secret inspect ci-npmrc "${S[@]}"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))[0]; assert j["latest_version"]==3; assert [v["version"] for v in j["versions"]]==[1,2,3]; assert j["versions"][0]["size"]==16' "$tmp/out" || fail "inspect: $(cat "$tmp/out")"
expect 0 "" -- "$lk" secret inspect ci-npmrc@2 "${S[@]}"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))[0]; assert [v["version"] for v in j["versions"]]==[2]' "$tmp/out" || fail "inspect @2"
expect 1 "error: secret ci-npmrc has no version 7 (latest is 3)" -- "$lk" secret inspect ci-npmrc@7 "${S[@]}"
expect 1 "error: secret nope not found" -- "$lk" secret inspect nope "${S[@]}"
expect 1 "error: secret nope not found" -- "$lk" secret rotate nope "$tmp/one" "${S[@]}"
expect 1 "error: invalid secret reference \"ci-npmrc@x\": the version after @ must be a positive integer" -- "$lk" secret inspect ci-npmrc@x "${S[@]}"

# No command prints secret data.
for c in "secret ls" "secret ls --format json" "secret inspect ci-npmrc pip-conf db-pass" "store status" "store status --format json"; do
  # shellcheck disable=SC2086
  out=$("$lk" $c "${S[@]}" 2>&1)
  if grep -q "SECRET-" <<<"$out"; then fail "$c printed secret data"; fi
done
if grep -rq "SECRET-ONE" "$tmp/s"; then fail "plaintext found in the store directory"; fi

# --- rm --------------------------------------------------------------------------------
expect 1 "error: secret nope not found" -- "$lk" secret rm db-pass nope "${S[@]}"
[ "$(cat "$tmp/out")" = "db-pass" ] || fail "rm output: $(cat "$tmp/out")"
expect 1 "error: secret db-pass not found" -- "$lk" secret inspect db-pass "${S[@]}"

# --- status / rekey --------------------------------------------------------------------
expect 0 "" -- "$lk" store status --format json "${S[@]}"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["secrets"]==2 and j["versions"]==4 and j["data_key_id"]==1 and j["key"]=="unlock-key", j' "$tmp/out" || fail "status: $(cat "$tmp/out")"
expect 2 "error: store rekey needs exactly one of --new-unlock-key-file PATH, --new-passphrase, --new-passphrase-fd N, --data-key" -- "$lk" store rekey "${S[@]}"
expect 0 "" -- "$lk" store rekey --data-key "${S[@]}"
[ "$(cat "$tmp/out")" = "Re-encrypted 4 secret versions of store $db under data key 2." ] || fail "rekey data: $(cat "$tmp/out")"
cp "$key" "$tmp/old.key"
expect 0 "" -- "$lk" store rekey --new-unlock-key-file "$key" "${S[@]}"
grep -q "^    LKSKEY-1-" "$tmp/out" || fail "rekey did not print the new key"
expect 1 "error: wrong unlock key or passphrase for store $db" -- "$lk" secret ls --store "$db" --unlock-key-file "$tmp/old.key"
printf 'correct horse\n' > "$tmp/pw"
expect 0 "" -- "$lk" store rekey --new-passphrase-fd 3 "${S[@]}" 3<"$tmp/pw"
expect 0 "" -- "$lk" secret inspect ci-npmrc --store "$db" --passphrase-fd 3 3<"$tmp/pw"
printf 'wrong horse' > "$tmp/badpw"
expect 1 "error: wrong unlock key or passphrase for store $db" -- "$lk" secret ls --store "$db" --passphrase-fd 3 3<"$tmp/badpw"
expect 1 "error: passphrase from file descriptor 3 is empty" -- "$lk" secret ls --store "$db" --passphrase-fd 3 3<"$tmp/empty"
expect 1 "error: no terminal to read the passphrase from; pass --passphrase-fd N" -- setsid "$lk" secret ls --store "$db" </dev/null
expect 2 "" -- "$lk" secret ls --store "$db" --unlock-key-file "$key" --passphrase-fd 3 3<"$tmp/pw"

# --- passphrase init, corrupt and missing stores ---------------------------------------
expect 0 "" -- "$lk" store init --store "$tmp/p.db" --passphrase-fd 3 3<"$tmp/pw"
expect 0 "" -- "$lk" secret create a "$tmp/one" --store "$tmp/p.db" --passphrase-fd 3 3<"$tmp/pw"
head -c 8192 /dev/urandom > "$tmp/garbage.db"
expect 1 "error: store $tmp/garbage.db is corrupt: file is not a database" -- "$lk" secret ls --store "$tmp/garbage.db" --unlock-key-file "$key"
expect 1 "error: store $tmp/none.db does not exist; create it with \`latchkey store init\`" -- "$lk" secret ls --store "$tmp/none.db"

# --- help everywhere -------------------------------------------------------------------
for c in "secret" "secret create" "secret ls" "secret inspect" "secret rotate" "secret rm" "store" "store init" "store rekey" "store status"; do
  # shellcheck disable=SC2086
  "$lk" $c --help > "$tmp/help" 2>&1 || fail "$c --help exit $?"
  grep -q -- "--store" "$tmp/help" || [ "${c#* }" = "$c" ] || fail "$c --help lacks --store"
done
expect 2 "" -- "$lk" secret create "${S[@]}"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "store CLI: all checks passed"
