#!/usr/bin/env bash
# What a push sends and how pulls and pushes stop, against Debian's docker-registry
# (distribution 2.8, anonymous, plain HTTP on 127.0.0.1):
#   - compression: `-o type=image,name=…,push=true,compression=zstd` and `latchkey push
#     --compression uncompressed|zstd --compression-level N` put layers of that media type in the
#     registry (its own manifest read with curl; `skopeo inspect` agrees on the digest; the zstd
#     blob decompresses with zstd(1)), a fresh store pulls the zstd image back with the same
#     files; bad values exit 2 with exact texts;
#   - Ctrl-C: a pull and a push running through a throttling proxy (throttle_proxy.py, a fault
#     injector in front of the real registry) stop at SIGINT with exit 130 and the exact line, no
#     partial blob is left in the store's ingest folder, a pushed tag has no manifest, the broker
#     session is closed "cancelled"; the next pull finishes and reuses what was complete.
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
write_config
start_plain_registry reg1
wait_registries
H1=$reg1_HOST
ACCEPT="Accept: application/vnd.oci.image.manifest.v1+json"
media_types() {  # media_types REPO TAG: the layer media types of the registry's manifest
  curl -fs -H "$ACCEPT" "http://$H1/v2/$1/manifests/$2" | jq -r '.layers[].mediaType' | sort -u | tr '\n' ' '
}

make_busybox_rootfs "$W/rootfs"
lk_ok image import --rootfs "$W/rootfs" -t base:1
ctx=$(new_context app)
printf 'FROM base:1\nRUN echo zed > /zed\n' > "$ctx/Dockerfile"

# --- Compression of what a push sends ----------------------------------------------------------
build_ok -o "type=image,name=$H1/z/app:1,push=true,compression=zstd,compression-level=7" \
  --metadata-file "$W/meta.json" "$ctx"
digest=$(jq -r '."containerimage.digest"' "$W/meta.json")
# The layer the build made is zstd; the imported base keeps its gzip (BuildKit's rule without
# force-compression).
expect_eq "$(curl -fs -H "$ACCEPT" "http://$H1/v2/z/app/manifests/1" | jq -r '[.layers[].mediaType] | join(" ")')" \
  "application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.layer.v1.tar+zstd" "layers pushed with compression=zstd"
expect_eq "$(skopeo_ inspect --tls-verify=false "docker://$H1/z/app:1" | jq -r .Digest)" "$digest" \
  "skopeo inspect of the zstd push"
top=$(curl -fs -H "$ACCEPT" "http://$H1/v2/z/app/manifests/1" | jq -r '.layers[-1].digest')
curl -fs "http://$H1/v2/z/app/blobs/$top" | zstd -dc | tar -tf - | grep -x 'zed' > /dev/null ||
  fail "the top zstd layer does not decompress to a tar holding /zed"
# A fresh store pulls it back, files and all.
lk_ok pull --state-dir "$W/fresh" "$H1/z/app:1"
lk_ok image export --state-dir "$W/fresh" -o "type=local,dest=$W/zout" "$H1/z/app:1"
expect_eq "$(cat "$W/zout/zed")" "zed" "a file of the zstd image pulled back"

lk_ok image tag "$H1/z/app:1" "$H1/u/app:1"
lk_ok push --compression uncompressed --force-compression "$H1/u/app:1"
expect_eq "$(media_types u/app 1)" "application/vnd.oci.image.layer.v1.tar " "latchkey push --compression uncompressed --force-compression"
lk_ok image tag "$H1/z/app:1" "$H1/zz/app:1"
lk_ok push --compression zstd --force-compression "$H1/zz/app:1"
expect_eq "$(media_types zz/app 1)" "application/vnd.oci.image.layer.v1.tar+zstd " "latchkey push --compression zstd --force-compression"
lk_ok image tag "$H1/z/app:1" "$H1/g/app:1"
lk_ok push --compression-level 1 "$H1/g/app:1"
expect_eq "$(media_types g/app 1)" "application/vnd.oci.image.layer.v1.tar+gzip " "latchkey push --compression-level 1 (gzip)"

lk push --compression lz4 "$H1/g/app:1"
[ "$RC" -eq 2 ] || fail "push --compression lz4 exited $RC, want 2"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" 'error: invalid --compression "lz4": unsupported compression type lz4 (want gzip, zstd or uncompressed)' "bad --compression"
lk push --compression zstd --compression-level 30 "$H1/g/app:1"
[ "$RC" -eq 2 ] || fail "push --compression-level 30 exited $RC, want 2"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" 'error: invalid --compression-level "30": compression-level 30 is out of range for zstd (1..19)' "bad --compression-level"
lk build -o "type=image,name=$H1/x:1,compression=zstd" "$ctx"
[ "$RC" -eq 2 ] || fail "compression= on an image that is not pushed exited $RC, want 2"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" "error: invalid -o \"type=image,name=$H1/x:1,compression=zstd\": compression applies to the oci and oci-layout types and to pushed images (push=true) only" "compression= without push=true"

# --- Ctrl-C inside a pull and inside a push ------------------------------------------------------
big=$(new_context big)
printf 'FROM base:1\nRUN head -c 12000000 /dev/urandom > /big\n' > "$big/Dockerfile"
build_ok -o "type=image,name=$H1/big:1,push=true,compression=uncompressed" "$big"
big_layer=$(curl -fs -H "$ACCEPT" "http://$H1/v2/big/manifests/1" | jq -r '.layers[-1].digest')
python3 "$(dirname "$0")/throttle_proxy.py" "${H1#*:}" 2000000 "$W/proxy.port" "$W/proxy.count" &
track_pid $!
wait_until "the throttling proxy" test -s "$W/proxy.port"
SLOW=127.0.0.1:$(cat "$W/proxy.port")

# interrupt WHAT ARGS...: runs latchkey ARGS in the background, sends SIGINT once the proxy has
# forwarded another 1 MB, and waits (at most 20 s) for it to exit.
interrupt() {
  local what=$1; shift
  local before=0
  [ -s "$W/proxy.count" ] && before=$(cat "$W/proxy.count")
  "$LK" "$@" > "$PLAIN_OUT" 2> "$PLAIN_ERR" &
  local pid=$!
  for i in $(seq 1 200); do
    [ -s "$W/proxy.count" ] && [ "$(cat "$W/proxy.count")" -gt $((before + 1000000)) ] && break
    kill -0 "$pid" 2> /dev/null || fail "$what ended before it could be interrupted: $(cat "$PLAIN_ERR")"
    sleep 0.1
  done
  kill -INT "$pid" 2> /dev/null || true  # an early exit shows in the exit code checked next
  for i in $(seq 1 200); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2> /dev/null && { kill -9 "$pid"; fail "$what did not stop within 20 s of SIGINT"; }
  set +e; wait "$pid"; RC=$?; set -e
  cat "$PLAIN_OUT" "$PLAIN_ERR" >> "$ALL"
}

interrupt "a pull" pull --state-dir "$W/cut" "$SLOW/big:1"
expect_eq "$RC" 130 "exit code of a pull stopped by SIGINT"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" "error: pull of $SLOW/big:1 cancelled; the blobs already downloaded are kept for the next pull" "a pull stopped by SIGINT"
[ -d "$W/cut/images/ingest" ] || fail "no ingest folder in $W/cut/images: the layout changed?"
[ -z "$(ls -A "$W/cut/images/ingest")" ] || fail "a partial blob was left in the ingest folder: $(ls -l "$W/cut/images/ingest")"
[ -e "$W/cut/images/blobs/sha256/${big_layer#sha256:}" ] && fail "the interrupted layer was stored"
expect_eq "$(jq -r 'select(.event == "session.close") | .reason' "$STATE/audit/audit.log" | tail -n 1)" \
  cancelled "the reason the pull's broker session was closed with"
lk_ok pull --state-dir "$W/cut" "$H1/big:1"
expect_file_contains "$PLAIN_OUT" "already present" "the next pull reuses the blobs that were complete"
expect_file_contains "$PLAIN_OUT" "Status: Downloaded newer image for $H1/big:1" "the next pull"

lk_ok image tag "$H1/big:1" "$SLOW/slowpush:1"
interrupt "a push" push "$SLOW/slowpush:1"
expect_eq "$RC" 130 "exit code of a push stopped by SIGINT"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" "error: push of $SLOW/slowpush:1 cancelled; the registry did not get its manifest" "a push stopped by SIGINT"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$ACCEPT" "http://$H1/v2/slowpush/manifests/1")
expect_eq "$code" 404 "the interrupted push's tag in the registry"
echo "registry push options ok"
