#!/usr/bin/env bash
# `latchkey build --builder docker` against a real Docker Engine (Debian docker.io 20.10, its
# built-in BuildKit v0.8), one private dockerd for the whole script (docker_lib.sh): latchkey's
# broker serves the build's secrets over the Engine's session, with policy, audit and the leak
# guard (docs/docker-builder.md).
#   1. two secrets (a --secret file and a type=store secret) reach their steps; the audit log has
#      both grants with their HMACs (equal to `latchkey audit hash` of the values), the Engine as
#      the peer and the step; `audit verify` passes; -q/--iidfile give Docker's image id; the
#      canaries are in no output of latchkey, in no audit record and in no layer or config of
#      the image (its `docker save`)
#   2. a secret policy denies fails the Docker build with the policy's text
#   3. a missing required secret fails with BuildKit's "not found"
#   4. a step that copies a secret into the image: the leak guard's message, the image removed
#      from the Engine, a leak.finding record
#   5. the plain progress of the same Dockerfile built embedded and on Docker has the same step
#      lines
#   6. session hygiene: session.close "completed", "failed", and "cancelled" for a build stopped
#      with Ctrl-C, which also stops the Engine's build (its RUN process goes away)
#   7. an Engine that is not there: the exact message, exit 1; a Dockerfile outside the context
#      is refused (BuildKit would copy it into the image with the context)
#   8. a base image in a private registry (Debian's docker-registry, htpasswd): the Engine's
#      BuildKit asks the session for the registry's credentials (moby.filesync.v1.Auth), which
#      the broker serves from a registries: entry, audited like any other grant
#   9. --ssh: the Engine's BuildKit reaches this host's real ssh-agent over the session (the
#      step lists the key; each CheckAgent is recorded as ssh.forward); an unknown required id
#      fails with BuildKit's text
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/docker_lib.sh"
source "$(dirname "$0")/../registry/registry_lib.sh"
unset LATCHKEY_BUILDER LATCHKEY_HOST
reg_password="registry-canary-$RANDOM$RANDOM$RANDOM"
start_basic_registry reg alice "$reg_password"
H=$reg_HOST
printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "$H" "$reg_password" > "$W/cred.json"
write_config "registries: {\"$H\": {provider: file, ref: $W/cred.json}}
policy:
  rules:
    - name: no-release-key
      secret: [release_key]
      allow: false
      reason: release_key is for release builds only
    - name: registry
      kind: registry
      allow: true
      reason: test pulls and pushes"
start_dockerd
wait_registries
docker_base_image bkbase:1
B=(--builder "docker://$DOCKER_HOST_URL" --network none)
AUDIT=$STATE/audit/audit.log

file_canary="file-canary-$RANDOM$RANDOM$RANDOM"
store_canary="store-canary-$RANDOM$RANDOM$RANDOM"
printf '%s' "$file_canary" > "$W/filetok"
"$LK" store init > /dev/null || fail "store init"
printf '%s' "$store_canary" | "$LK" secret create storetok - > /dev/null || fail "secret create"
records() { grep "\"event\":\"$1\"" "$AUDIT" || true; }
last_close_reason() { records session.close | tail -n 1 | jq -r .reason; }

# 1. Two secrets, brokered.
ctx=$(new_context app)
cat > "$ctx/Dockerfile" <<'DF'
FROM bkbase:1
RUN --mount=type=secret,id=filetok,required wc -c < /run/secrets/filetok > /filetok.len
RUN --mount=type=secret,id=storetok,required wc -c < /run/secrets/storetok > /storetok.len
DF
build_ok "${B[@]}" --secret "id=filetok,src=$W/filetok" --secret id=storetok,type=store,src=storetok \
  -t app:1 --iidfile "$W/iid" "$ctx"
id=$("${D[@]}" image inspect --format '{{.Id}}' app:1) || fail "app:1 is not in Docker Engine"
expect_eq "$(cat "$W/iid")" "$id" "--iidfile"
expect_eq "$("${D[@]}" run --rm --network none app:1 cat /filetok.len /storetok.len | tr -d ' ' | tr '\n' ' ')" \
  "${#file_canary} ${#store_canary} " "the sizes the steps saw"
for s in filetok:file storetok:store; do
  rec=$(records secret.fetch | jq -c "select(.secret == \"${s%%:*}\")")
  [ "$(wc -l <<<"$rec")" -eq 1 ] || fail "want one secret.fetch of ${s%%:*}: [$rec]"
  expect_eq "$(jq -r .outcome <<<"$rec")" granted "${s%%:*} outcome"
  expect_eq "$(jq -r .provider <<<"$rec")" "${s#*:}" "${s%%:*} provider"
  expect_eq "$(jq -r .peer.transport <<<"$rec")" docker "${s%%:*} peer transport"
  expect_eq "$(jq -r .peer.address <<<"$rec")" "$DOCKER_HOST_URL" "${s%%:*} peer address"
  expect_eq "$(jq -r .peer.pid <<<"$rec")" "$(cat "$W/dockerd.pid")" "${s%%:*} peer pid: the Engine"
  expect_eq "$(jq -r .requester <<<"$rec")" "uid=$(id -u)" "${s%%:*} requester: the CLI's user"
done
want_hmac=$("$LK" audit hash --value-file "$W/filetok") || fail "audit hash"
expect_eq "$(records secret.fetch | jq -r 'select(.secret == "filetok") | .value_hmac')" "$want_hmac" \
  "filetok's value_hmac"
expect_eq "$(records secret.fetch | jq -r 'select(.secret == "storetok") | .step.line')" 3 \
  "storetok's step line"
expect_eq "$(records secret.fetch | jq -r 'select(.secret == "storetok") | .step.instruction')" \
  "[3/3] RUN --mount=type=secret,id=storetok,required wc -c < /run/secrets/storetok > /storetok.len" \
  "storetok's step"
expect_eq "$(last_close_reason)" completed "session.close of the build"
"$LK" audit verify > "$W/verify.out" 2>&1 || fail "audit verify: $(cat "$W/verify.out")"
"${D[@]}" save app:1 > "$W/app.tar" || fail "docker save app:1"
mkdir -p "$W/app-layers"
tar -C "$W/app-layers" -xf "$W/app.tar"
for c in "$file_canary" "$store_canary"; do
  expect_file_lacks "$W/app.tar" "$c" "the image"
  ! grep -rqF -- "$c" "$W/app-layers" || fail "a layer or the config of app:1 holds a canary"
  expect_file_lacks "$AUDIT" "$c" "the audit log"
done
lk_build "${B[@]}" -q --secret "id=filetok,src=$W/filetok" \
  --secret id=storetok,type=store,src=storetok "$ctx"
[ "$RC" -eq 0 ] || fail "the cached rebuild with -q exited $RC"
expect_eq "$(cat "$OUT")" "$id" "-q prints Docker's image id (cached rebuild)"

# 2. Policy decides: the Docker build fails with latchkey's policy text.
ctx=$(new_context denied)
printf 'FROM bkbase:1\nRUN --mount=type=secret,id=release_key cat /run/secrets/release_key\n' > "$ctx/Dockerfile"
build_fails "${B[@]}" --secret "id=release_key,src=$W/filetok" "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: rpc error: code = PermissionDenied desc = \
secret release_key: denied by policy rule \"no-release-key\": release_key is for release builds only" \
  "the policy refusal"
expect_file_contains "$ERR" ">>> RUN --mount=type=secret,id=release_key cat /run/secrets/release_key" \
  "the Dockerfile excerpt of the refused step"
expect_eq "$(records secret.fetch | jq -r 'select(.secret == "release_key") | .outcome')" denied \
  "the denial in the audit log"
expect_eq "$(last_close_reason)" failed "session.close of the refused build"

# 3. A required secret nobody declared: BuildKit's own "not found".
ctx=$(new_context missing)
printf 'FROM bkbase:1\nRUN --mount=type=secret,id=nosuch,required cat /run/secrets/nosuch\n' > "$ctx/Dockerfile"
build_fails "${B[@]}" "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret nosuch not found: not found" \
  "a missing required secret"

# 4. The leak guard: the image is refused and removed.
ctx=$(new_context leak)
printf 'FROM bkbase:1\nRUN --mount=type=secret,id=filetok cp /run/secrets/filetok /leak\n' > "$ctx/Dockerfile"
build_fails "${B[@]}" --secret "id=filetok,src=$W/filetok" -t leaky:1 "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: secret \"filetok\" leaked into layer 2 of the \
Docker image (RUN cp /run/secrets/filetok /leak) at /leak; the image was removed from Docker Engine \
(if this is intended, pass --allow-secret-leak filetok)" "the leak guard"
"${D[@]}" image inspect leaky:1 > /dev/null 2>&1 && fail "the leaking image is still in Docker Engine"
expect_eq "$(records leak.finding | jq -r '.secret + " " + .path' | tail -n 1)" "filetok leak" \
  "the leak.finding record"
expect_eq "$(last_close_reason)" failed "session.close of the leaking build"
build_ok "${B[@]}" --secret "id=filetok,src=$W/filetok" --allow-secret-leak filetok -t leaky:1 "$ctx"
"${D[@]}" image inspect leaky:1 > /dev/null || fail "--allow-secret-leak: the image is not kept"

# 5. The same step lines, embedded and on Docker.
"$LK" image import --rootfs "$W/docker-base-rootfs" -t bkbase:1 > /dev/null || fail "image import"
ctx=$(new_context same)
printf 'FROM bkbase:1\nRUN echo one\nRUN --mount=type=secret,id=filetok wc -c < /run/secrets/filetok\n' > "$ctx/Dockerfile"
steps() { grep -E '^#[0-9]+ \[[0-9]+/[0-9]+\] ' "$ERR" | sed -E 's/^#[0-9]+ //'; }
build_ok --network none --secret "id=filetok,src=$W/filetok" --no-cache "$ctx"
embedded=$(steps)
build_ok "${B[@]}" --secret "id=filetok,src=$W/filetok" --no-cache "$ctx"
expect_eq "$(steps)" "$embedded" "the step lines of an embedded and a Docker build"
expect_eq "$(grep -c '^#[0-9]* [0-9.]* '"${#file_canary}"'$' "$ERR")" 1 "the step's output line"

# 6. Ctrl-C cancels the Engine's build and closes the session.
ctx=$(new_context slow)
printf 'FROM bkbase:1\nRUN --mount=type=secret,id=filetok sleep 31\n' > "$ctx/Dockerfile"
"$LK" build --progress plain "${B[@]}" --secret "id=filetok,src=$W/filetok" --no-cache "$ctx" \
  > "$OUT" 2> "$ERR" &
pid=$!
for _ in $(seq 1 200); do pgrep -f '^sleep 31$' > /dev/null && break; sleep 0.05; done
pgrep -f '^sleep 31$' > /dev/null || fail "the Engine's RUN step did not start"
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
cat "$OUT" "$ERR" >> "$ALL_OUTPUT"
expect_eq "$RC" 130 "exit code after Ctrl-C"
expect_eq "$(last_close_reason)" cancelled "session.close of the cancelled build"
for _ in $(seq 1 100); do pgrep -f '^sleep 31$' > /dev/null || break; sleep 0.1; done
pgrep -f '^sleep 31$' > /dev/null && fail "the Engine's build still runs after Ctrl-C"

# 7. No Engine there; a Dockerfile outside the context (refused before anything connects).
printf 'FROM bkbase:1\n' > "$W/outside.Dockerfile"
lk_build --builder "docker://unix://$W/nosuch.sock" -f "$W/outside.Dockerfile" "$ctx"
expect_eq "$RC" 2 "exit code of -f outside the context"
expect_eq "$(cat "$ERR")" "error: -f $W/outside.Dockerfile is not supported with --builder docker: \
the Dockerfile must be a file in the build context $ctx (Docker Engine reads it from the context \
latchkey sends); move it there, or build with --builder embedded" "-f outside the context"
build_fails --builder "docker://unix://$W/nosuch.sock" "$ctx"
expect_eq "$(cat "$ERR")" "error: cannot reach Docker Engine at unix://$W/nosuch.sock: connect: No \
such file or directory" "an Engine that is not there"

# 8. FROM an image in a private registry: its credentials come from the broker.
make_busybox_rootfs "$W/private-rootfs"
echo private > "$W/private-rootfs/origin"
"$LK" image import --rootfs "$W/private-rootfs" -t "$H/private/base:1" > /dev/null || fail "image import"
lk_ok push "$H/private/base:1"
ctx=$(new_context private)
printf 'FROM %s/private/base:1\nRUN cat /origin > /seen\n' "$H" > "$ctx/Dockerfile"
build_ok "${B[@]}" -t from-private:1 "$ctx"
expect_eq "$("${D[@]}" run --rm --network none from-private:1 cat /seen)" private "the private base"
rec=$(records secret.fetch | jq -c "select(.secret == \"registry:$H\")" | tail -n 1)
expect_eq "$(jq -r .outcome <<<"$rec")" granted "the registry credential's grant: [$rec]"
expect_eq "$(jq -r .peer.transport <<<"$rec")" docker "the registry credential's peer"
expect_eq "$(jq -r .step.instruction <<<"$rec")" "pull from $H (Docker Engine)" \
  "what the registry credential was for"

# 9. --ssh: the Engine's BuildKit asks the session (moby.sshforward.v1.SSH) for this host's real
# ssh-agent: the step's `ssh-add -l` lists the throw-away key; an unknown required id fails with
# the text of BuildKit's ssh provider (the Engine's BuildKit passes it through).
fp=$(ssh_agent_with_key agent1)
ctx=$(new_context sshctx)
ssh_add_tool "$ctx/tool"
cat > "$ctx/Dockerfile" <<'DF'
FROM bkbase:1
RUN --mount=type=ssh,id=git --mount=type=bind,target=/t,source=tool /t/ld.so --library-path /t /t/ssh-add -l
DF
build_ok "${B[@]}" --no-cache --ssh "git=$W/agent1.sock" "$ctx"
expect_file_contains "$ERR" "$fp" "the agent key listed by the Engine's step"
# The Engine's CheckAgent was recorded (ssh.forward) before it was answered: this host's agent
# socket, the Engine as peer, no `required` (BuildKit does not say).
rec=$(jq -c 'select(.event == "ssh.forward" and .ssh == "git")' "$AUDIT" | tail -n 1)
expect_eq "$(jq -r '[.outcome, .agent, .peer.transport, (has("required") | tostring)] | join(" ")' <<<"$rec")" \
  "granted $W/agent1.sock docker false" "the Engine's use of the ssh agent on record: [$rec]"
printf 'FROM bkbase:1\nRUN --mount=type=ssh,id=deploy,required true\n' > "$ctx/Dockerfile"
build_fails "${B[@]}" --no-cache --ssh "git=$W/agent1.sock" "$ctx"
expect_eq "$(tail -n 1 "$ERR")" "ERROR: failed to solve: rpc error: code = NotFound desc = unset ssh \
forward key deploy" "an unknown required ssh id on Docker"
rec=$(jq -c 'select(.event == "ssh.forward" and .ssh == "deploy")' "$AUDIT" | tail -n 1)
expect_eq "$(jq -r '[.outcome, .error] | join(" ")' <<<"$rec")" \
  "not_found unset ssh forward key deploy" "the refused ssh id on record: [$rec]"

# Nothing latchkey printed holds a canary.
expect_file_lacks "$ALL_OUTPUT" "$reg_password" "latchkey's output"
expect_file_lacks "$AUDIT" "$reg_password" "the audit log"
for c in "$file_canary" "$store_canary"; do
  expect_file_lacks "$ALL_OUTPUT" "$c" "latchkey's output"
  expect_file_lacks "$AUDIT" "$c" "the audit log"
done
"$LK" audit verify > "$W/verify.out" 2>&1 || fail "audit verify at the end: $(cat "$W/verify.out")"
echo "docker builds ok"
