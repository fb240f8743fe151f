#!/usr/bin/env bash
# `latchkey push`, `latchkey build --push` and `-o type=image,…,push=true` against Debian's
# docker-registry (distribution 2.8) on 127.0.0.1: an anonymous plain-HTTP registry and one
# with htpasswd basic auth behind TLS (registry_lib.sh). Checks: a build that pushes prints
# BuildKit's push lines and writes the digest to --metadata-file, and `skopeo inspect` shows
# that digest; `skopeo copy` pulls the image back into an OCI layout that `oci-image-tool
# validate` accepts; a second image on the same base pushed to the same repository only HEADs
# the base blobs, and to another repository mounts them (the registry's access log); a
# chunked push (PATCH) that skopeo reads back; a push with credentials, and the exact texts
# for no credential, a wrong password, a registry that is down, an image the store lacks and
# --push without -t; a canary password appears in no output or state file.
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
CANARY="Canary-PUSH-$$-w4Rt"
write_config
mkdir -p "$W/docker"
export DOCKER_CONFIG=$W/docker

start_plain_registry reg1
start_tls_registry reg2 alice "$CANARY"
wait_registries
H1=$reg1_HOST
H2=$reg2_HOST
LOG1=$REGLOGS/reg1.log
since() { tail -n +"$(($1 + 1))" "$LOG1"; }  # since MARK: access log lines after MARK
# settle MARK TEXT: waits (up to 10 s) until the access log has TEXT after MARK. The registry
# writes a request's line after it has answered, so lines read right after the client is done
# may not be there yet; waiting for the push's last request (its manifest PUT) settles them all.
settle() {
  for i in $(seq 1 100); do since "$1" | grep -F -- "$2" > /dev/null && return 0; sleep 0.1; done
  fail "the registry's access log has no \"$2\" after line $1"
}

# --- A build that pushes ----------------------------------------------------------------------
make_busybox_rootfs "$W/rootfs"
lk_ok image import --rootfs "$W/rootfs" -t base:1
ctx=$(new_context app)
printf 'FROM base:1\nRUN echo one > /one\nRUN head -c 300000 /dev/urandom > /data\n' > "$ctx/Dockerfile"
build_ok --push --metadata-file "$W/meta.json" -t "$H1/app:1" "$ctx"
digest=$(jq -r '."containerimage.digest"' "$W/meta.json")
[[ "$digest" == sha256:* ]] || fail "no containerimage.digest in --metadata-file: $(cat "$W/meta.json")"
expect_file_contains "$ERR" "pushing layers" "the build's push lines"
grep -qE "^#[0-9]+ pushing layers [0-9.]+s done$" "$ERR" || fail "no 'pushing layers … done' line"
grep -qE "^#[0-9]+ sha256:[0-9a-f]{64} [0-9.]+[kM]?B done$" "$ERR" || fail "no per-blob push line"
expect_file_contains "$ERR" "pushing manifest for $H1/app:1@$digest done" "the build's manifest line"
expect_eq "$(skopeo_ inspect --tls-verify=false "docker://$H1/app:1" | jq -r .Digest)" "$digest" \
  "skopeo inspect of the pushed image"
skopeo_ copy -q --src-tls-verify=false "docker://$H1/app:1" "oci:$W/pulled:1"
oci-image-tool validate --type image "$W/pulled" 2>&1 | grep 'Validation succeeded' > /dev/null ||
  fail "oci-image-tool rejected the image pulled back: $(oci-image-tool validate --type image "$W/pulled" 2>&1 | tail -3)"
umoci unpack --rootless --image "$W/pulled:1" "$W/unpacked" > /dev/null 2>&1 ||
  fail "umoci could not unpack the image pulled back"
expect_eq "$(cat "$W/unpacked/rootfs/one")" "one" "a file of the pushed image, read back"

# --- latchkey push: the same repository only HEADs, another one mounts -----------------------
ACCEPT="Accept: application/vnd.oci.image.manifest.v1+json"
base_layer=$(curl -fs -H "$ACCEPT" "http://$H1/v2/app/manifests/1" | jq -r '.layers[0].digest')
ctx2=$(new_context app2)
printf 'FROM base:1\nRUN echo two > /two\n' > "$ctx2/Dockerfile"
build_ok -t "$H1/app:2" "$ctx2"
mark=$(wc -l < "$LOG1")
lk_ok push "$H1/app:2"
settle "$mark" "PUT /v2/app/manifests/2"
expect_file_contains "$PLAIN_OUT" "The push refers to repository [$H1/app]" "latchkey push"
expect_file_contains "$PLAIN_OUT" "$base_layer already exists" "the base layer is in the repository"
since "$mark" | grep "\"HEAD /v2/app/blobs/$base_layer HTTP/1.1\" 200" > /dev/null ||
  fail "the base layer was not HEADed: $(since "$mark" | grep -c HEAD) HEADs"
since "$mark" | grep "PUT /v2/app/blobs/uploads/" | grep "digest=${base_layer/:/%3A}" > /dev/null &&
  fail "the base layer was uploaded again"
pushed2=$(awk '/^2: digest: /{print $3}' "$PLAIN_OUT")
expect_eq "$(skopeo_ inspect --tls-verify=false "docker://$H1/app:2" | jq -r .Digest)" "$pushed2" \
  "the digest latchkey push printed"

mark=$(wc -l < "$LOG1")
build_ok -o "type=image,name=$H1/team/other:1,push=true" "$ctx2"
settle "$mark" "PUT /v2/team/other/manifests/1"
since "$mark" | grep "POST /v2/team/other/blobs/uploads/?mount=${base_layer/:/%3A}&from=app HTTP/1.1\" 201" > /dev/null ||
  fail "the base layer was not mounted from app: $(since "$mark" | grep POST | head -3)"
since "$mark" | grep "PUT /v2/team/other/blobs/uploads/" | grep "digest=${base_layer/:/%3A}" > /dev/null &&
  fail "the base layer was uploaded to team/other"
expect_file_contains "$ERR" "$base_layer mounted from $H1/app" "the build's mount line"

# --- Chunked upload ---------------------------------------------------------------------------
ctx3=$(new_context chunky)
printf 'FROM base:1\nRUN head -c 400000 /dev/urandom > /c\n' > "$ctx3/Dockerfile"
build_ok -t "$H1/chunky:1" "$ctx3"
mark=$(wc -l < "$LOG1")
lk_ok push --chunk-size 100000 "$H1/chunky:1"
settle "$mark" "PUT /v2/chunky/manifests/1"
since "$mark" | grep '"PATCH /v2/chunky/blobs/uploads/' > /dev/null || fail "no PATCH in a chunked push"
chunky=$(awk '/^1: digest: /{print $3}' "$PLAIN_OUT")
expect_eq "$(skopeo_ inspect --tls-verify=false "docker://$H1/chunky:1" | jq -r .Digest)" "$chunky" \
  "skopeo inspect of the chunked push"
rm -rf "$W/pulled"
skopeo_ copy -q --src-tls-verify=false "docker://$H1/chunky:1" "oci:$W/pulled:1"
oci-image-tool validate --type image "$W/pulled" 2>&1 | grep 'Validation succeeded' > /dev/null ||
  fail "oci-image-tool rejected the chunked push pulled back"
lk_ok push -q "$H1/chunky:1"
expect_eq "$(cat "$PLAIN_OUT")" "$chunky" "push -q prints the digest"

# --- Credentials and exact failures -----------------------------------------------------------
lk_ok image tag "$H1/app:1" "$H2/private/app:1"
write_config "registries: {\"$H2\": {ca_file: $W/ca.crt}}"
lk_err "registry $H2: 401 Unauthorized: authentication required, and no credential for $H2 was found (looked in: the registries: map of the latchkey configuration, then the dockerconfig provider)" \
  push "$H2/private/app:1"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$H2" "$(printf 'alice:wrong-%s' "$$" | base64 -w0)" > "$W/docker/config.json"
lk_err "registry $H2: 401 Unauthorized: the credential from provider dockerconfig ($H2) was rejected" \
  push "$H2/private/app:1"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$H2" "$(printf 'alice:%s' "$CANARY" | base64 -w0)" > "$W/docker/config.json"
lk_ok push "$H2/private/app:1"
expect_file_contains "$PLAIN_OUT" "pushing manifest for $H2/private/app:1@$digest done" "push with a credential"
expect_eq "$(skopeo_ inspect --cert-dir /nonexistent --tls-verify=false --authfile "$W/docker/config.json" \
  "docker://$H2/private/app:1" | jq -r .Digest)" "$digest" "skopeo inspect on the TLS registry"

DOWN=127.0.0.1:$(free_port)
lk_ok image tag "$H1/app:1" "$DOWN/app:1"
lk_err "cannot reach registry $DOWN: Connection refused" push "$DOWN/app:1"
lk push "$H1/nosuch:1"
[ "$RC" -eq 1 ] || fail "push of an image the store lacks exited $RC"
expect_contains "$(tail -n 1 "$PLAIN_ERR")" "error: image \"$H1/nosuch:1\" is not in the local store." \
  "push of an image the store lacks"
lk push --chunk-size 0 "$H1/app:1"
[ "$RC" -eq 2 ] || fail "push --chunk-size 0 exited $RC, want 2"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" 'error: invalid --chunk-size "0": want a number of bytes greater than 0' "bad --chunk-size"
lk push "$H1/app@sha256:$(printf '%064d' 0)"
[ "$RC" -eq 2 ] || fail "push of a digest reference exited $RC, want 2"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" "error: push $H1/app@sha256:$(printf '%064d' 0): the local store keys images by tag; push NAME:TAG" "push of a digest reference"
lk build --push "$ctx2"
[ "$RC" -eq 2 ] || fail "build --push without -t exited $RC, want 2"
expect_eq "$(tail -n 1 "$PLAIN_ERR")" "error: tag is needed when pushing to registry" "build --push without -t"

# --- The canary password is in no output, log or state file ---------------------------------
b64=$(printf 'alice:%s' "$CANARY" | base64 -w0)
for needle in "$CANARY" "$b64"; do
  hits=$(grep -rlF -- "$needle" "$W" 2> /dev/null | grep -vx "$W/docker/config.json" || true)
  [ -z "$hits" ] || fail "the canary credential was found in: $hits"
done
echo "registry push ok"
