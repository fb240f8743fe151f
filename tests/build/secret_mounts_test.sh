#!/usr/bin/env bash
# `latchkey build`: RUN --mount=type=secret behaves as in BuildKit (testSecretFileParams,
# testSecretMounts, testSecretAsEnviron): file params, default path and mode, tmpfs, no stub
# left behind, env form, env+target, optional and required, empty secrets.
source "$(dirname "$0")/lib.sh"
setup_busybox

printf 'file-secret-value-%s' "$RANDOM$RANDOM" > "$W/secret.txt"
chmod 600 "$W/secret.txt"
sum=$(md5sum < "$W/secret.txt" | cut -d' ' -f1)
: > "$W/empty.txt"
ctx=$(new_context ctx)

# 1. One build, every successful behaviour as an in-step assertion (a failing `[` fails the build).
cat > "$ctx/Dockerfile" <<DF
FROM busybox:test
RUN --mount=type=secret,id=mysecret,required=false,mode=741,uid=100,gid=102,target=/mysecret stat -c "%u %g %f" /mysecret && [ "\$(stat -c "%u %g %f" /mysecret)" = "100 102 81e1" ]
RUN [ ! -e /mysecret ]
RUN --mount=type=secret,id=mysecret [ "\$(stat -c "%u %g %a" /run/secrets/mysecret)" = "0 0 400" ] && [ "\$(md5sum < /run/secrets/mysecret | cut -d' ' -f1)" = "$sum" ]
RUN --mount=type=secret,id=mysecret mount | grep /run/secrets/mysecret | grep -q tmpfs
RUN --mount=type=secret,id=mysecret,env=MYSECRET [ "\$(printf %s "\$MYSECRET" | md5sum | cut -d' ' -f1)" = "$sum" ] && [ ! -e /run/secrets/mysecret ]
RUN --mount=type=secret,id=mysecret,env=MYSECRET,target=/run/s2 [ "\$(printf %s "\$MYSECRET" | md5sum | cut -d' ' -f1)" = "$sum" ] && [ "\$(md5sum < /run/s2 | cut -d' ' -f1)" = "$sum" ]
RUN [ -z "\${MYSECRET:-}" ]
RUN --mount=type=secret,id=other [ ! -e /run/secrets/other ]
RUN --mount=type=secret,id=empty [ -f /run/secrets/empty ] && [ ! -s /run/secrets/empty ]
RUN echo done > /done
DF
build_ok --secret "id=mysecret,src=$W/secret.txt" --secret "id=empty,src=$W/empty.txt" \
  -o "type=local,dest=$W/out" "$ctx"
expect_file_contains "$ERR" "100 102 81e1" "stat output of the secret file in the progress"
[ -f "$W/out/done" ] || fail "local output lacks /done"
# No mount stubs left in the image (BuildKit's MountStubsCleaner removes them recursively).
for p in mysecret run/secrets run/s2; do
  [ ! -e "$W/out/$p" ] || fail "mount stub /$p left in the image"
done
[ -d "$W/out/run" ] || fail "/run of the base image was removed"

# 2. A required secret with no value: BuildKit's NotFound text.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=mysecret,required=true true
DF
build_fails "$ctx"
# BuildKit's "secret mysecret: not found", then the sources the broker tried.
tried='(tried: no --secret flag declares id "mysecret"; the configuration'"'"'s secrets map has no entry "mysecret")'
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret mysecret: not found $tried" "required secret missing"
# The bare `required` flag means true (BuildKit); buildah 1.28 panics on it.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=mysecret,required true
DF
build_fails "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret mysecret: not found $tried" "bare required"

# 3. A required env secret with no value fails the same way.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=tok,env=TOK,required=true true
DF
build_fails "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret tok: not found ${tried//mysecret/tok}" "required env secret missing"

# 4. --secret from the caller's environment (id=..,env=VAR): value reaches the step.
cat > "$ctx/Dockerfile" <<DF
FROM busybox:test
RUN --mount=type=secret,id=fromenv [ "\$(md5sum < /run/secrets/fromenv | cut -d' ' -f1)" = "$sum" ]
DF
FROM_ENV_SECRET=$(cat "$W/secret.txt") build_ok --secret id=fromenv,env=FROM_ENV_SECRET "$ctx"

# 5. Targets: relative (from "/", not WORKDIR, as BuildKit's dispatchSecret), over an existing
# file (restored after the step, not removed as a stub), nested missing dirs (stubs removed
# recursively); an env secret shadows an ENV of the same name for its step only.
len=$(wc -c < "$W/secret.txt" | tr -d ' ')
cat > "$ctx/Dockerfile" <<DF
FROM busybox:test
ENV TOKEN=public
WORKDIR /w
RUN --mount=type=secret,id=mysecret,target=rel [ -f /rel ] && [ ! -e /w/rel ]
RUN --mount=type=secret,id=mysecret,target=/etc/passwd [ "\$(wc -c < /etc/passwd)" = $len ]
RUN --mount=type=secret,id=mysecret,target=/a/b/c/d [ -f /a/b/c/d ]
RUN --mount=type=secret,id=mysecret,env=TOKEN [ "\$TOKEN" != public ]
RUN [ "\$TOKEN" = public ] && grep -q '^root:' /etc/passwd && [ ! -e /a ] && [ ! -e /rel ]
DF
build_ok --secret "id=mysecret,src=$W/secret.txt" -o "type=local,dest=$W/out2" "$ctx"
cmp -s "$W/out2/etc/passwd" "$W/rootfs/etc/passwd" || fail "/etc/passwd changed by a secret mounted over it"
for p in a rel w/rel; do [ ! -e "$W/out2/$p" ] || fail "mount stub /$p left in the image"; done

# 6. Size limit: 512000 bytes pass, one more fails at flag parsing with buildx's text.
head -c 512000 /dev/zero | tr '\0' a > "$W/big"
printf 'FROM busybox:test\nRUN --mount=type=secret,id=big wc -c /run/secrets/big\n' > "$ctx/Dockerfile"
build_ok --secret "id=big,src=$W/big" "$ctx"
grep -qE '^#[0-9]+ [0-9.]+ 512000 /run/secrets/big$' "$ERR" || fail "512000-byte secret not mounted whole"
echo a >> "$W/big"
build_fails --secret "id=big,src=$W/big" "$ctx"
expect_eq "$(cat "$ERR")" "error: secret big too big. max size 500KiB" "secret over 500 KiB"

# 7. Policy: a rule denying env sources fails the step (required or not) with the broker's
# text, and the denial is audited.
cat > "$W/policy.yaml" <<YAML
state_dir: $STATE
policy:
  rules:
    - name: no-env-sources
      source: env
      allow: false
      reason: use files for secrets
YAML
printf 'FROM busybox:test\nRUN --mount=type=secret,id=tok,env=TOK,required=false true\n' > "$ctx/Dockerfile"
TOKVAL=abcdefgh LATCHKEY_CONFIG="$W/policy.yaml" build_fails --secret id=tok,env=TOKVAL "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: secret tok: denied by policy rule "no-env-sources": use files for secrets' "policy denial"
grep -q '"event":"secret.fetch".*"secret":"tok".*"outcome":"denied".*"rule":"no-env-sources"' "$STATE/audit/audit.log" \
  || fail "the denial is not in the audit log"

# 8. Nothing of the secret in what the build printed.
expect_file_lacks "$ALL_OUTPUT" "$(cat "$W/secret.txt")" "output of the builds"
echo "secret mounts: OK"
