#!/usr/bin/env bash
# `latchkey build --builder docker`: which builder a build uses and what it refuses, end to end
# through the real binary. Bad --builder / $LATCHKEY_BUILDER / builder.use values and the flags
# Docker Engine's build cannot honour are usage errors (exit 2) with exact texts, and come out
# BEFORE anything connects: the Engine address given is a unix socket this script listens on
# and counts connections to (there must be none), and no broker ever starts (no audit log).
# An explicit --builder embedded (or $LATCHKEY_BUILDER=embedded over builder.use) builds
# embedded. A latchkeyd named by the configuration's host: (or --host embedded) is not refused
# with --builder docker. Builds on a real dockerd (tests/docker/docker_lib.sh: start_dockerd) come with the
# Docker build flow.
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/docker_lib.sh"
unset LATCHKEY_BUILDER LATCHKEY_HOST SSH_AUTH_SOCK
write_config

# A stand-in Engine socket that records every connection.
ENGINE=$W/engine.sock
CONNECTIONS=$W/engine.connections
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
    c.close()
' "$ENGINE" "$CONNECTIONS" &
track_pid $!
for i in $(seq 1 100); do [ -S "$ENGINE" ] && break; sleep 0.05; done
[ -S "$ENGINE" ] || fail "the stand-in Engine socket did not appear"

ctx=$(new_context app)
printf 'hello\n' > "$ctx/hello.txt"
printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' > "$ctx/Dockerfile"

# usage_error WANT ARGS...: `latchkey build ARGS` exits 2 and stderr is exactly "error: WANT".
usage_error() {
  local want=$1
  shift
  lk_build "$@"
  [ "$RC" -eq 2 ] || fail "latchkey build $* exited $RC, want 2"
  expect_eq "$(cat "$ERR")" "error: $want" "stderr of latchkey build $*"
  expect_eq "$(cat "$OUT")" "" "stdout of latchkey build $*"
}

# 1. Bad values, from each source.
want_forms='(want embedded, docker or docker://unix:///path/docker.sock)'
usage_error "--builder \"dokcer\": unknown builder $want_forms" --builder dokcer "$ctx"
usage_error "--builder \"\": unknown builder $want_forms" --builder "" "$ctx"
usage_error "--builder \"docker://https://127.0.0.1:2376\": TLS connections to Docker Engine are \
not supported (use unix:///path/docker.sock, or tcp://HOST:PORT without TLS)" \
  --builder docker://https://127.0.0.1:2376 "$ctx"
usage_error "--builder \"docker://unix://run/docker.sock\": the socket path must be absolute \
(unix:///path/docker.sock: three slashes)" --builder docker://unix://run/docker.sock "$ctx"
LATCHKEY_BUILDER=buildkit usage_error "LATCHKEY_BUILDER \"buildkit\": unknown builder $want_forms" \
  "$ctx"
DOCKER_HOST=ssh://me@127.0.0.1 usage_error "DOCKER_HOST \"ssh://me@127.0.0.1\" (used by \
--builder docker): unsupported scheme \"ssh\" (want unix:///path/docker.sock or tcp://HOST:PORT)" \
  --builder docker "$ctx"
DOCKER_HOST=tcp://127.0.0.1:2376 DOCKER_TLS_VERIFY=1 usage_error "DOCKER_TLS_VERIFY is set \
(used by --builder docker with DOCKER_HOST tcp://127.0.0.1:2376): latchkey reaches Docker Engine \
without TLS; unset DOCKER_TLS_VERIFY or use docker://unix:///path/docker.sock" \
  --builder docker "$ctx"

# 2. Flags the Docker builder cannot honour, refused before anything connects.
B=(--builder "docker://unix://$W/engine.sock")
usage_error "--build-context is not supported with --builder docker: Docker Engine's build API \
takes one context; build with --builder embedded" "${B[@]}" --build-context "base=$ctx" "$ctx"
usage_error "-o \"type=oci,dest=$W/app.tar\" is not supported with --builder docker: the image \
stays in Docker Engine's image store (name it with -t, export it with \`docker save\`)" \
  "${B[@]}" -o "type=oci,dest=$W/app.tar" "$ctx"
usage_error "--push is not supported with --builder docker: the image stays in Docker Engine's \
image store; push it with \`docker push\` after the build" "${B[@]}" --push -t app:1 "$ctx"
usage_error "--no-cache-filter is not supported with --builder docker: Docker Engine's build API \
has no per-stage cache switch; use --no-cache" "${B[@]}" --no-cache-filter base "$ctx"
usage_error "--runtime is not supported with --builder docker: Docker Engine runs RUN steps with \
its own runtime (dockerd --default-runtime)" "${B[@]}" --runtime crun "$ctx"
usage_error "--platform linux/amd64,linux/arm64 is not supported with --builder docker: Docker \
Engine builds one platform per build; build them one at a time" \
  "${B[@]}" --platform linux/amd64,linux/arm64 "$ctx"
not_latchkeyd="the build runs on Docker Engine, not on latchkeyd"
LK_GLOBAL=(--host "unix://$W/latchkeyd.sock")
usage_error "--host is not supported with --builder docker: $not_latchkeyd; drop one of the two" \
  "${B[@]}" "$ctx"
LK_GLOBAL=()
LATCHKEY_HOST=unix://$W/latchkeyd.sock usage_error "LATCHKEY_HOST is not supported with \
--builder docker: $not_latchkeyd; unset LATCHKEY_HOST, or pass --builder embedded to build on \
latchkeyd" "${B[@]}" "$ctx"
# The configuration's host: is not refused: the explicit builder wins over it (the next
# refusal is the first one left); --host embedded is not refused either.
printf 'state_dir: %s\nhost: unix://%s/latchkeyd.sock\n' "$STATE" "$W" > "$W/with-host.yaml"
LATCHKEY_CONFIG=$W/with-host.yaml usage_error "--runtime is not supported with --builder docker: \
Docker Engine runs RUN steps with its own runtime (dockerd --default-runtime)" \
  "${B[@]}" --runtime crun "$ctx"
LK_GLOBAL=(--host embedded)
usage_error "--runtime is not supported with --builder docker: Docker Engine runs RUN steps with \
its own runtime (dockerd --default-runtime)" "${B[@]}" --runtime crun "$ctx"
LK_GLOBAL=()
# The refusal names the setting that chose Docker.
LATCHKEY_BUILDER=docker://unix://$ENGINE usage_error "--build-context is not supported with \
LATCHKEY_BUILDER=docker: Docker Engine's build API takes one context; build with --builder \
embedded" --build-context "base=$ctx" "$ctx"

# 3. builder.use in the configuration: checked with its position, printed by config check.
write_config "builder: {use: dokcer}"
"$LK" config check > "$W/check.out" 2> "$W/check.err" && fail "config check accepted builder.use: dokcer"
expect_eq "$(cat "$W/check.err")" "$W/latchkey.yaml:2:16: builder.use: \"dokcer\": unknown \
builder $want_forms" "config check of builder.use: dokcer"
lk_build "$ctx"
[ "$RC" -eq 1 ] || fail "latchkey build with builder.use: dokcer exited $RC, want 1"
expect_file_contains "$ERR" "$W/latchkey.yaml:2:16: builder.use: \"dokcer\": unknown builder" \
  "build with builder.use: dokcer"
write_config "builder: {use: \"docker://unix://$ENGINE\"}"
"$LK" config check > "$W/check.out" 2> "$W/check.err" || fail "config check: $(cat "$W/check.err")"
expect_file_contains "$W/check.out" "use: docker://unix://$ENGINE" "config check output"
usage_error "--build-context is not supported with builder.use: docker: Docker Engine's build \
API takes one context; build with --builder embedded" --build-context "base=$ctx" "$ctx"

# Nothing connected to the Engine, and no broker started (its audit log would exist).
[ ! -s "$CONNECTIONS" ] || fail "the refusals connected to the Engine socket: $(cat "$CONNECTIONS")"
[ ! -e "$STATE/audit" ] || fail "a refused build started the broker: $(ls -R "$STATE/audit")"

# 4. Embedded wins when it is chosen by a source that comes first.
# (builder.use is still the stand-in Engine here.)
LATCHKEY_BUILDER=embedded build_ok -t app:env "$ctx"
LATCHKEY_BUILDER=docker://unix://$ENGINE build_ok --builder embedded -t app:flag "$ctx"
"$LK" images > "$W/images.out" 2>&1 || fail "latchkey images: $(cat "$W/images.out")"
for tag in env flag; do
  grep -Eq "^app +$tag " "$W/images.out" ||
    fail "app:$tag is not in latchkey's store: $(cat "$W/images.out")"
done
[ ! -s "$CONNECTIONS" ] || fail "an embedded build connected to the Engine socket"
echo "docker builder choice ok"
