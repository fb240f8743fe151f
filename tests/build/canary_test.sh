#!/usr/bin/env bash
# `latchkey build`: canary secret values (a file secret and an env secret) used by several
# steps must appear nowhere the build writes: no layer (gunzipped), config, manifest or index of
# any output (oci archive, oci layout, local rootfs, the tagged image), not the progress or the
# debug-level operational log, not the state dir (image store, caches, audit log) -- raw, hex
# or base64 at any alignment. Then the leak guard: a step that copies a secret into its layer
# fails the build (also when rebuilt from cache) unless --allow-secret-leak names it.
source "$(dirname "$0")/lib.sh"
write_config 'log: {level: debug}'
LK_GLOBAL=(--log-level debug)   # the config's log level alone is not applied by the CLI yet
setup_busybox

rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
mkdir -p "$W/secrets"
canary_file="CANARYFILE$(rnd)"
canary_env="CANARYENV$(rnd)"
marker="MARKER$(rnd)"   # not a secret: the positive control for every scan below
printf '%s' "$canary_file" > "$W/secrets/cf"
chmod 600 "$W/secrets/cf"
export CANARY_ENV_VALUE="$canary_env"

# Patterns: raw, hex (both cases) and base64 of the value at each of the three alignments
# (padding and the partial last group dropped), for each canary; the marker raw only.
python3 - "$canary_file" "$canary_env" > "$W/patterns" <<'EOP'
import base64, sys
for v in sys.argv[1:]:
    b = v.encode()
    print(v); print(b.hex()); print(b.hex().upper())
    for i in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            print(enc(b[i:]).decode()[:-4])
EOP
echo "$marker" > "$W/marker-pattern"

# scan PATTERNS DIR...: prints every file (gunzipped when gzip, raw otherwise) holding a pattern.
scan() {
  local pat=$1; shift
  find "$@" -type f -print0 | while IFS= read -r -d '' f; do
    if grep -aqF -f "$pat" "$f" || { gzip -t "$f" 2>/dev/null && zcat "$f" | grep -aF -f "$pat" > /dev/null; }; then
      echo "$f"
    fi
  done
}

ctx=$(new_context ctx)
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=cf wc -c /run/secrets/cf > /len-file.txt
RUN --mount=type=secret,id=ce,env=CE sh -c 'echo "${#CE}" > /len-env.txt'
RUN --mount=type=secret,id=cf,target=/etc/app.conf,mode=0444 sh -c 'grep -q CANARYFILE /etc/app.conf && echo checked > /checked.txt'
RUN --mount=type=secret,id=cf --mount=type=secret,id=ce,env=CE sh -c 'base64 /run/secrets/cf | wc -c > /b64len.txt; test -n "$CE"'
ARG MARKER
RUN echo "$MARKER" > /marker.txt
DF
S=(--secret "id=cf,src=$W/secrets/cf" --secret "id=ce,env=CANARY_ENV_VALUE" --build-arg "MARKER=$marker")
: > "$W/all-output"
build_ok "${S[@]}" -t canary:1 -o "type=oci,dest=$W/out.tar" "$ctx"
cat "$OUT" "$ERR" >> "$W/all-output"
build_ok "${S[@]}" -o "type=oci-layout,dest=$W/layout" "$ctx"
cat "$OUT" "$ERR" >> "$W/all-output"
build_ok "${S[@]}" -o "type=local,dest=$W/local" "$ctx"
cat "$OUT" "$ERR" >> "$W/all-output"
"$LK" image export canary:1 -o "type=oci-layout,dest=$W/tagged" > /dev/null
grep -q ' debug ' "$W/all-output" || fail "no debug-level log line in the build's output"
expect_eq "$(cat "$W/local/checked.txt")" "checked" "secret file reached the step"
expect_eq "$(cat "$W/local/len-env.txt")" "${#canary_env}" "env secret reached the step"
[ ! -e "$W/local/etc/app.conf" ] || fail "mount stub /etc/app.conf left in the image"
mkdir -p "$W/archive" && tar -xf "$W/out.tar" -C "$W/archive"

# Positive control: the same scan finds the marker in every output and in the state dir.
for d in "$W/archive" "$W/layout" "$W/local" "$W/tagged" "$STATE"; do
  [ -n "$(scan "$W/marker-pattern" "$d")" ] || fail "the scan cannot see the marker in $d"
done
hits=$(scan "$W/patterns" "$W/archive" "$W/layout" "$W/local" "$W/tagged" "$STATE" "$W/all-output")
[ -z "$hits" ] || fail "a canary value was found in: $hits"
grep -q '"event":"secret.fetch".*"secret":"cf".*"outcome":"granted"' "$STATE/audit/audit.log" \
  || fail "the audit log does not record the grant of cf"
grep -q '"event":"secret.fetch".*"secret":"ce".*"outcome":"granted"' "$STATE/audit/audit.log" \
  || fail "the audit log does not record the grant of ce"

# A step that prints the secrets: the progress never shows the values (whatever the outcome).
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=cf --mount=type=secret,id=ce,env=CE sh -c 'cat /run/secrets/cf; echo; echo "$CE" >&2; echo "$CE" | base64'
DF
lk_build "${S[@]}" "$ctx"
cat "$OUT" "$ERR" > "$W/print-output"
hits=$(scan "$W/patterns" "$W/print-output" "$STATE")
[ -z "$hits" ] || fail "a step that printed the canary leaked it into: $hits ($(grep -aF -f "$W/patterns" "$W/print-output" | head -3))"
echo "printing step: rc=$RC (0 = redacted, 1 = refused by the leak guard)"

# A failing step that prints the secrets: the error block (last output lines, snippet, summary)
# shows them redacted in every progress mode.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=ce,env=CE sh -c 'echo "$CE"; printf "%s" "$CE" | base64; cat "/nonexistent-$CE"; exit 4'
DF
for mode in plain json tty; do
  set +e
  "$LK" build --progress "$mode" "${S[@]}" "$ctx" > "$OUT" 2> "$ERR"; RC=$?
  set -e
  expect_eq "$RC" "1" "failing printing step, --progress $mode"
  cat "$OUT" "$ERR" > "$W/fail-output"
  hits=$(scan "$W/patterns" "$W/fail-output")
  [ -z "$hits" ] || fail "--progress $mode: a failing step that printed the canary shows it"
  grep -q 'nonexistent-\*\*\*\*' "$W/fail-output" || fail "--progress $mode: the step's output is missing from the error"
done

# Leak guard: a secret copied into a layer fails the build, with the exact location.
printf 'leakvalue-%s' "$(rnd)" > "$W/secrets/x"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN echo before > /before
RUN --mount=type=secret,id=x cat /run/secrets/x > /x
DF
build_fails --secret "id=x,src=$W/secrets/x" -t leak:1 -o "type=local,dest=$W/leak-out" "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret "x" leaked into layer 3 (step 3, Dockerfile:3) at /x; the layer was discarded (if this is intended, pass --allow-secret-leak x)' "leak guard"
[ ! -e "$W/leak-out" ] || fail "a refused build wrote its output"
"$LK" image inspect leak:1 > /dev/null 2>&1 && fail "a refused build tagged its image"
# Encoded forms, names and link targets, and the config (history via a build arg, a label).
guard_says() {  # guard_says WHERE DOCKERFILE [FLAGS...]
  local where=$1 df=$2; shift 2
  printf '%b' "$df" > "$ctx/Dockerfile"
  build_fails --secret "id=x,src=$W/secrets/x" "$@" "$ctx"
  expect_eq "$(last_err_line)" "ERROR: failed to solve: secret \"x\" leaked into $where (if this is intended, pass --allow-secret-leak x)" "leak guard: $df"
}
L='layer 2 (step 2, Dockerfile:2)'
guard_says "$L at /b; the layer was discarded" 'FROM busybox:test\nRUN --mount=type=secret,id=x,env=X sh -c '"'"'printf %s "$X" | base64 > /b'"'"'\n'
guard_says "$L at /h; the layer was discarded" 'FROM busybox:test\nRUN --mount=type=secret,id=x,env=X sh -c '"'"'printf %s "$X" | od -An -tx1 | tr -d " \\\\n" > /h'"'"'\n'
guard_says "$L at /tmp/****; the layer was discarded" 'FROM busybox:test\nRUN --mount=type=secret,id=x,env=X sh -c '"'"'touch "/tmp/$X"'"'"'\n'
guard_says "$L at /l; the layer was discarded" 'FROM busybox:test\nRUN --mount=type=secret,id=x,env=X ln -s "/$X" /l\n'
value_x=$(cat "$W/secrets/x")
guard_says "the image config (its history, labels or env); nothing was exported" \
  'FROM busybox:test\nARG T\nRUN --mount=type=secret,id=x true\nRUN echo "$T" > /dev/null\n' --build-arg "T=$value_x"
guard_says "the image config (its history, labels or env); nothing was exported" \
  "FROM busybox:test\nRUN --mount=type=secret,id=x true\nLABEL a=$value_x\n"
expect_file_lacks "$ERR" "$value_x" "leak guard output"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN echo before > /before
RUN --mount=type=secret,id=x cat /run/secrets/x > /x
DF
# Rebuilding (now possibly from cache) must be refused again.
build_fails --secret "id=x,src=$W/secrets/x" -o "type=local,dest=$W/leak-out" "$ctx"
[[ "$(last_err_line)" == *'secret "x" leaked into layer'* ]] || fail "rebuild after a leak: $(last_err_line)"
# Allowed explicitly: the build succeeds and the value is in the image, as the user asked.
build_ok --secret "id=x,src=$W/secrets/x" --allow-secret-leak x -o "type=local,dest=$W/leak-out" "$ctx"
cmp -s "$W/secrets/x" "$W/leak-out/x" || fail "--allow-secret-leak x: /x is not the secret"
grep -q '^WARNING: secret "x" leaked into layer 3' "$ERR" || fail "--allow-secret-leak x printed no warning"
# Every finding, refused or allowed, is audited.
n=$(grep -c '"event":"leak.finding".*"secret":"x"' "$STATE/audit/audit.log" || true)
[ "$n" -ge 3 ] || fail "leak.finding audit records for x: $n, want >= 3"
# The allowed layer is cached with its allowance: without the flag the step reruns and is refused.
build_fails --secret "id=x,src=$W/secrets/x" -o "type=local,dest=$W/leak-out2" "$ctx"
[[ "$(last_err_line)" == *'secret "x" leaked into layer 3'* ]] || fail "cached allowed leak reused without the flag: $(last_err_line)"
"$LK" audit verify --state-dir "$STATE" --pubkey "$STATE/audit-signing.pub" > /dev/null \
  || fail "latchkey audit verify failed on the build's audit log"

# Every new layer is checked against every value the session handed out by the end of the build,
# also a layer written before the secret's first fetch (here: the secret file COPYed from the
# context, then mounted).
cp "$W/secrets/x" "$ctx/x.txt"
printf 'FROM busybox:test\nCOPY x.txt /s\nRUN --mount=type=secret,id=x true\n' > "$ctx/Dockerfile"
build_fails --secret "id=x,src=$W/secrets/x" -o "type=local,dest=$W/order-out" "$ctx"
expect_contains "$(last_err_line)" 'ERROR: failed to solve: secret "x" leaked into layer 2 (step 2, Dockerfile:2) at /s' "a layer written before the first fetch"
[ ! -e "$W/order-out" ] || fail "the image with the leaked value was exported"
echo "canary: OK"
