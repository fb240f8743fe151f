#!/usr/bin/env bash
# `latchkey build`: the leak channels of issue 11 (items 6-9) and the refusal that lists every
# finding (issue 12, item 7). Each part seeds canary secrets, runs a build that tries one channel,
# checks the exact refusal (or the redacted output), then greps everything the build wrote --
# the whole state dir (blob store, layers, caches, audit log, tmp), the outputs and the printed
# output -- for the canary raw, in hex and in base64 at all three alignments.
source "$(dirname "$0")/lib.sh"
setup_busybox

rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
mkdir -p "$W/secrets"

# patterns_for OUT VALUE...: the values raw, in hex (both cases) and base64 at each of the three
# alignments (the characters that do not depend on neighbouring bytes), standard and URL-safe.
patterns_for() {
  local out=$1; shift
  python3 - "$@" > "$out" <<'EOP'
import base64, sys
for v in sys.argv[1:]:
    b = v.encode()
    print(v); print(b.hex()); print(b.hex().upper())
    for k in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            e = enc(b"\0" * k + b).decode().rstrip("=")
            print(e[(8 * k + 5) // 6 : 8 * (k + len(b)) // 6])
EOP
}
# scan PATTERNS DIR...: every file (gunzipped when gzip) holding a pattern.
scan() {
  local pat=$1; shift
  find "$@" -type f -print0 | while IFS= read -r -d '' f; do
    if grep -aqF -f "$pat" "$f" || { gzip -t "$f" 2>/dev/null && zcat "$f" | grep -aF -f "$pat" > /dev/null; }; then
      echo "$f"
    fi
  done
}
# no_canary WHAT PATTERNS [EXCLUDED_DIR]: the state dir (but EXCLUDED_DIR) and every build output
# so far hold none of the patterns.
no_canary() {
  local hits
  hits=$(scan "$2" "$STATE" "$ALL_OUTPUT" | grep -v "^${3:-/nonexistent}/" || true)
  [ -z "$hits" ] || { grep -aF -f "$2" $hits | cut -c1-700 >&2; fail "$1: a canary value was found in: $hits"; }
}
ctx=$(new_context ctx)
df() { printf '%b' "$1" > "$ctx/Dockerfile"; }

# --- Item 6: base64 at any alignment ------------------------------------------------------------
item6() {
tok="tok-$(rnd)"
printf '%s' "$tok" > "$W/secrets/s"
patterns_for "$W/p-s" "$tok"
S=(--secret "id=s,src=$W/secrets/s")
for prefix in 'user:' 'u:' 'ab:' ''; do
  df "FROM busybox:test\nRUN --mount=type=secret,id=s sh -c 'printf \"${prefix}%s\" \"\$(cat /run/secrets/s)\" | base64 > /auth'\n"
  build_fails "${S[@]}" -o "type=local,dest=$W/out6" "$ctx"
  expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret "s" leaked into layer 2 (step 2, Dockerfile:2) at /auth; the layer was discarded (if this is intended, pass --allow-secret-leak s)' "base64 after \"$prefix\""
done
[ ! -e "$W/out6" ] || fail "a refused build wrote its output"
# Printed at every alignment (and URL-safe): the output shows none of it.
df "FROM busybox:test\nRUN --mount=type=secret,id=s sh -c 'for p in \"\" a ab user:; do printf \"\$p%s\" \"\$(cat /run/secrets/s)\" | base64; printf \"\$p%s\" \"\$(cat /run/secrets/s)\" | base64 | tr +/ -_; done'\n"
build_ok "${S[@]}" "$ctx"
grep -q '#.* \*\*\*\*' "$ERR" || fail "the printed base64 forms are not shown as ****"
no_canary "item 6" "$W/p-s"

}

# --- Item 7: the credential parts of structured secrets ---------------------------------------
item7() {
npm_tok="npm_$(rnd)"
aws_key="wJalr$(rnd)"
url_pw="pw$(rnd)"
docker_pw="dk$(rnd)"
docker_auth=$(printf 'bob:%s' "$docker_pw" | base64)
printf 'registry=https://registry.example.com/\n//registry.example.com/:_authToken=%s\nalways-auth=true\n' "$npm_tok" > "$W/secrets/npmrc"
printf '[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = %s\n' "$aws_key" > "$W/secrets/aws"
printf 'https://deploy:%s@git.example.com/repo.git\n' "$url_pw" > "$W/secrets/gitcred"
printf '{"auths":{"registry.example.com":{"auth":"%s"}}}\n' "$docker_auth" > "$W/secrets/docker"
patterns_for "$W/p-parts" "$npm_tok" "$aws_key" "$url_pw" "$docker_pw" "$docker_auth"
S=(--secret "id=npmrc,src=$W/secrets/npmrc" --secret "id=aws,src=$W/secrets/aws"
   --secret "id=gitcred,src=$W/secrets/gitcred" --secret "id=docker,src=$W/secrets/docker")
part_refused() {  # part_refused ID COMMAND
  df "FROM busybox:test\nRUN --mount=type=secret,id=$1 sh -c '$2 > /x'\n"
  build_fails "${S[@]}" "$ctx"
  expect_eq "$(last_err_line)" "ERROR: failed to solve: secret \"$1\" leaked into layer 2 (step 2, Dockerfile:2) at /x; the layer was discarded (if this is intended, pass --allow-secret-leak $1)" "part of $1: $2"
}
part_refused npmrc 'grep _authToken /run/secrets/npmrc | cut -d= -f2'
part_refused npmrc 'grep _authToken /run/secrets/npmrc | cut -d= -f2 | tr -d "\\\\n" | base64'
part_refused aws 'sed -n "s/^aws_secret_access_key = //p" /run/secrets/aws'
part_refused gitcred 'sed "s,.*://deploy:,,; s,@.*,," /run/secrets/gitcred'
part_refused docker 'sed "s/.*\"auth\":\"//; s/\".*//" /run/secrets/docker | base64 -d | cut -d: -f2'
# Printed, each part shows as ****.
df "FROM busybox:test\nRUN --mount=type=secret,id=npmrc --mount=type=secret,id=aws --mount=type=secret,id=gitcred --mount=type=secret,id=docker sh -c 'grep _authToken /run/secrets/npmrc; cut -d= -f2 /run/secrets/aws; cat /run/secrets/gitcred; sed \"s/.*\\\\\"auth\\\\\":\\\\\"//; s/\\\\\".*//\" /run/secrets/docker | base64 -d'\n"
build_ok "${S[@]}" "$ctx"
grep -q '_authToken=\*\*\*\*' "$ERR" || fail "the printed .npmrc line does not show its token as ****"
grep -q 'bob:\*\*\*\*' "$ERR" || fail "the printed docker auth does not show its password as ****"
no_canary "item 7" "$W/p-parts"
# The grant records the HMAC of each part: `audit hash` of the token alone finds it.
printf '%s' "$npm_tok" > "$W/token-only"
h=$("$LK" audit hash --state-dir "$STATE" --value-file "$W/token-only")
"$LK" audit search --state-dir "$STATE" --hmac "$h" --format json > "$W/found"
grep -q '"secret":"npmrc".*"outcome":"granted"' "$W/found" || fail "audit search --hmac of the npm token found no grant of npmrc"
rm -f "$W/token-only"

}

# --- Item 8: cache mounts ------------------------------------------------------------------------
item8() {
c8="cache-$(rnd)"
printf '%s' "$c8" > "$W/secrets/c"
patterns_for "$W/p-c" "$c8"
df 'FROM busybox:test\nRUN --mount=type=cache,target=/cache sh -c "echo kept > /cache/before"\n'
build_ok "$ctx"
df 'FROM busybox:test\nRUN --mount=type=cache,target=/cache --mount=type=secret,id=c sh -c "mkdir -p /cache/d && cat /run/secrets/c > /cache/d/leak && echo ok > /cache/other"\n'
build_fails --secret "id=c,src=$W/secrets/c" "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret "c" leaked into cache mount /cache (step 2, Dockerfile:2) at /d/leak; the files the step wrote there were removed (if this is intended, pass --allow-secret-leak c)' "cache mount leak"
no_canary "item 8" "$W/p-c"
# A later build without the secret finds only what was there before.
df 'FROM busybox:test\nRUN --mount=type=cache,target=/cache sh -c "ls -R /cache > /listing"\n'
build_ok --no-cache -o "type=local,dest=$W/out8" "$ctx"
expect_eq "$(tr '\n' ' ' < "$W/out8/listing")" '/cache: before ' "the cache after the refused step"
grep -q '"event":"leak.finding".*"secret":"c".*"layer":"cache mount /cache"' "$STATE/audit/audit.log" \
  || fail "no leak.finding audit record for the cache mount"

}

# --- Item 9: a refused build leaves nothing on disk --------------------------------------------
item9() {
l9="label-$(rnd)"
printf '%s' "$l9" > "$W/secrets/l"
patterns_for "$W/p-l" "$l9"
B=$STATE/builder   # the builder's state dir (builder.state_dir's default)
{ ls "$B/images/blobs/sha256" 2>/dev/null || true; } | sort > "$W/blobs-before"
{ ls "$B/layers/sha256" 2>/dev/null || true; } | sort > "$W/layers-before"
df 'FROM busybox:test\nRUN echo one > /one\nRUN --mount=type=secret,id=l true\nRUN echo two > /two\n'
build_fails --secret "id=l,src=$W/secrets/l" --label "k=$l9" -t refused:1 "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret "l" leaked into the image config (its history, labels or env); nothing was exported (if this is intended, pass --allow-secret-leak l)' "label leak"
# The session.open audit record (written before any secret is fetched) names the --label keys
# in clear and their values only as HMACs: the audit log holds no canary either, and `audit
# search --hmac` of the value finds the session that was given it.
no_canary "item 9 (--label)" "$W/p-l"
h9=$("$LK" audit hash --state-dir "$STATE" --value-file "$W/secrets/l") || fail "audit hash of the label value"
grep -q "\"event\":\"session.open\".*\"label_hmacs\":{\"k\":\"$h9\"}" "$STATE/audit/audit.log" \
  || fail "no session.open record with the label's HMAC ($h9)"
"$LK" audit search --state-dir "$STATE" --hmac "$h9" --event session.open --format json > "$W/found9"
expect_eq "$(wc -l < "$W/found9")" 1 "session.open records found by the label value's HMAC"
grep -q '"label_hmacs":{"k":"'"$h9"'"}' "$W/found9" || fail "audit search --hmac found another session.open: $(cat "$W/found9")"
df 'FROM busybox:test\nARG T\nRUN --mount=type=secret,id=l true\nENV T=$T\nWORKDIR /w-$T\n'
build_fails --secret "id=l,src=$W/secrets/l" --build-arg "T=$l9" "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret "l" leaked into the image config (its history, labels or env); nothing was exported (if this is intended, pass --allow-secret-leak l)' "build-arg leak"
no_canary "item 9 (build arg)" "$W/p-l" "$STATE/audit"
{ ls "$B/images/blobs/sha256" 2>/dev/null || true; } | sort > "$W/blobs-after"
{ ls "$B/layers/sha256" 2>/dev/null || true; } | sort > "$W/layers-after"
cmp -s "$W/blobs-before" "$W/blobs-after" || fail "refused builds left blobs: $(comm -13 "$W/blobs-before" "$W/blobs-after" | tr '\n' ' ')"
cmp -s "$W/layers-before" "$W/layers-after" || fail "refused builds left layers: $(comm -13 "$W/layers-before" "$W/layers-after" | tr '\n' ' ')"
expect_eq "$(stat -c %a "$B")" 700 "builder state dir mode"
bad=$(find "$B/images/blobs/sha256" -type f ! -perm 0600)
[ -z "$bad" ] || fail "blob files that are not 0600: $bad"

}

# --- Issue 12 item 7: the refusal lists every finding ------------------------------------------
every_finding() {
printf 'first-%s' "$(rnd)" > "$W/secrets/s1"
printf 'second-%s' "$(rnd)" > "$W/secrets/t"
df 'FROM busybox:test\nRUN --mount=type=secret,id=s --mount=type=secret,id=t sh -c "cat /run/secrets/s > /a; cat /run/secrets/s > /b; cat /run/secrets/t > /c"\n'
build_fails --secret "id=s,src=$W/secrets/s1" --secret "id=t,src=$W/secrets/t" "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secrets "s" and "t" leaked into layer 2 (step 2, Dockerfile:2): "s" at /a and /b; "t" at /c; the layer was discarded (if this is intended, pass --allow-secret-leak s --allow-secret-leak t)' "every finding"
}

# LEAK_SECTIONS picks sections (to check one against another build); default: all.
for section in ${LEAK_SECTIONS:-item6 item7 item8 item9 every_finding}; do "$section"; done
echo "leak channels: OK"
