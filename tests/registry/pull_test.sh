#!/usr/bin/env bash
# `latchkey pull` against Debian's docker-registry (distribution 2.8), started here once on
# 127.0.0.1 twice: an anonymous plain-HTTP registry, and one with htpasswd basic auth behind
# TLS with a CA made for this run. Images are made with latchkey, exported as OCI archives and
# seeded with skopeo. Checks: pull + images + a build FROM the pulled image with a RUN step; a
# second image on the same base downloads 0 base bytes (pull output and the registry's access
# log); exact messages for an unknown CA, no credential, a wrong password, an unknown tag, a
# registry that is down and a corrupted blob (nothing stored), the certs.d layout; credentials
# from the broker (a registries: entry with the file provider); builds that pull (a miss pulls,
# the next build uses the local copy with no registry request, --pull follows a moved tag, the
# digest in --metadata-file, a wrong password's exact text); a canary password appears in no
# output or state. Prints the pull time next to `skopeo copy` of the same image.
source "$(dirname "$0")/../build/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
CANARY="Canary-PW-$$-q7Zx"
write_config
mkdir -p "$W/docker"
export DOCKER_CONFIG=$W/docker  # never the machine's own Docker login

# --- Registries -----------------------------------------------------------------------------
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
H1=127.0.0.1:$P1
H2=127.0.0.1:$P2
H3=127.0.0.1:$P3
make_test_ca "$W"
# A client certificate from the same CA, for the registry that requires one.
openssl req -newkey rsa:2048 -nodes -subj "/CN=latchkey test client" -keyout "$W/client.key" \
  -out "$W/client.csr" 2> /dev/null
printf 'extendedKeyUsage=clientAuth\n' > "$W/client.ext"
openssl x509 -req -in "$W/client.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial \
  -days 2 -extfile "$W/client.ext" -out "$W/client.cert" 2> /dev/null
htpasswd -Bbn alice "$CANARY" > "$W/htpasswd" 2> /dev/null

cat > "$W/reg1.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/reg1-data}}
http: {addr: "$H1", secret: plain-test-secret}
Y
cat > "$W/reg2.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/reg2-data}}
auth: {htpasswd: {realm: basic-realm, path: $W/htpasswd}}
http: {addr: "$H2", secret: tls-test-secret, tls: {certificate: $W/srv.crt, key: $W/srv.key}}
Y
cat > "$W/reg3.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/reg3-data}}
http: {addr: "$H3", secret: mtls-test-secret, tls: {certificate: $W/srv.crt, key: $W/srv.key, clientcas: [$W/ca.crt]}}
Y
start_registry reg1 "$W/reg1.yml"
start_registry reg2 "$W/reg2.yml"
start_registry reg3 "$W/reg3.yml"
regs_up() {
  curl -fs "http://$H1/v2/" &&
    curl -s --cacert "$W/ca.crt" -o /dev/null -w '%{http_code}' "https://$H2/v2/" | grep 401 > /dev/null &&
    curl -fs --cacert "$W/ca.crt" --cert "$W/client.cert" --key "$W/client.key" "https://$H3/v2/"
}
wait_until "the registries" regs_up
# The credential for $H2: a credential helper's JSON in a file, served by the broker's file
# provider through a registries: entry, which a policy rule allows for pulls.
cred_config() {
  write_config "registries: {\"$H2\": {ca_file: $W/ca.crt, provider: file, ref: $W/cred.json}}
policy: {rules: [{name: registry-pull, kind: registry, scope: pull, allow: true, reason: test pulls}]}"
}
write_cred() {  # write_cred PASSWORD
  printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "$H2" "$1" > "$W/cred.json"
}

# --- Images, made with latchkey and seeded with skopeo --------------------------------------
make_busybox_rootfs "$W/rootfs"
lk_ok image import --rootfs "$W/rootfs" -t base:1
ctx=$(new_context app)
cat > "$ctx/Dockerfile" <<'D'
FROM base:1
RUN head -c 6000000 /dev/urandom > /layer1 && echo one > /app-one
RUN head -c 6000000 /dev/urandom > /layer2
RUN head -c 6000000 /dev/urandom > /layer3 && echo three > /app-three
D
build_ok -t app:1 "$ctx"
ctx2=$(new_context other)
printf 'FROM base:1\nRUN echo other > /other\n' > "$ctx2/Dockerfile"
build_ok -t other:1 "$ctx2"
for img in base:1 app:1 other:1; do
  lk_ok image export "$img" -o "type=oci,dest=$W/${img%%:*}.tar"
done
skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/base.tar" "docker://$H1/base:1"
skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/app.tar" "docker://$H1/app:1"
skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/other.tar" "docker://$H1/other:1"
skopeo_ copy -q --dest-tls-verify=false --dest-creds "alice:$CANARY" \
  "oci-archive:$W/base.tar" "docker://$H2/private/base:1"
# The pulls below go into a fresh store: the images made above must not be there already.
STATE=$W/pull-state
write_config

# --- Pull, list, build FROM the pulled image ------------------------------------------------
lk_ok pull --progress plain "$H1/base:1"
expect_file_contains "$PLAIN_OUT" "Status: Downloaded newer image for $H1/base:1 (2 blobs," "first pull"
ACCEPT="Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
layer_of() {  # layer_of REPO TAG INDEX: a layer digest of a manifest in the plain registry
  curl -fs -H "$ACCEPT" "http://$H1/v2/$1/manifests/$2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][int(sys.argv[1])]["digest"])' "$3"
}
base_layer=$(layer_of base 1 0)
lk_ok images
expect_file_contains "$PLAIN_OUT" "$H1/base" "latchkey images"
mark=$(wc -l < "$REGLOGS/reg1.log")
lk_ok pull --progress plain "$H1/app:1"
expect_file_contains "$PLAIN_OUT" "${base_layer:0:19}: already present" "second pull on the same base"
expect_file_contains "$PLAIN_OUT" "(4 blobs," "second pull: config + 3 new layers"
tail -n +"$mark" "$REGLOGS/reg1.log" | grep "GET /v2/app/blobs/$base_layer" > /dev/null &&
  fail "the second pull downloaded the base layer $base_layer"
tail -n +"$mark" "$REGLOGS/reg1.log" | grep "GET /v2/app/blobs/sha256" > /dev/null ||
  fail "the access log shows no blob download of app:1 (is the log format the expected one?)"
lk_ok images
expect_file_contains "$PLAIN_OUT" "$H1/app" "latchkey images after the second pull"
lk_ok pull "$H1/app:1"
expect_file_contains "$PLAIN_OUT" "Status: Image is up to date for $H1/app:1" "third pull"

ctx3=$(new_context fromreg)
printf 'FROM %s/app:1\nRUN cat /app-one /app-three > /both\n' "$H1" > "$ctx3/Dockerfile"
build_ok -t fromreg:1 "$ctx3"
lk_ok image export fromreg:1 -o "type=local,dest=$W/fromreg-root"
expect_eq "$(cat "$W/fromreg-root/both")" "$(printf 'one\nthree')" "RUN output in the image built FROM the pulled image"

# --- Exact failures ---------------------------------------------------------------------------
lk_err "manifest for $H1/app:nosuch not found: manifest unknown" pull "$H1/app:nosuch"
lk_err "manifest for $H1/nosuch:1 not found: manifest unknown" pull "$H1/nosuch:1"
DOWN=127.0.0.1:$(free_port)
lk_err "cannot reach registry $DOWN: Connection refused" pull "$DOWN/app:1"
lk_err "registry $H2: TLS certificate verification failed (SSL certificate problem: unable to get local issuer certificate); if $H2 uses a private CA, put its certificate in $W/certs.d/$H2/ca.crt, or set registries: {\"$H2\": {ca_file: /path/to/ca.crt}} in the latchkey configuration" \
  pull "$H2/private/base:1"
# Docker's certs.d layout beside the configuration file fixes it.
mkdir -p "$W/certs.d/$H2"
cp "$W/ca.crt" "$W/certs.d/$H2/ca.crt"
lk_err "registry $H2: 401 Unauthorized: authentication required, and no credential for $H2 was found (looked in: the registries: map of the latchkey configuration, then the dockerconfig provider)" \
  pull "$H2/private/base:1"
rm -r "$W/certs.d"
cred_config
write_cred "wrong-$$"
lk_err "registry $H2: 401 Unauthorized: the credential from provider file ($W/cred.json) was rejected" \
  pull "$H2/private/base:1"
write_cred "$CANARY"
lk_ok pull --progress plain "$H2/private/base:1"
# Over TLS the registry offers HTTP/2 (ALPN), and the pull uses it.
# (Its blobs are those of $H1/base:1, already in the store: nothing else is downloaded.)
grep -q '"GET /v2/private/base/manifests/1 HTTP/2.0" 200 ' "$REGLOGS/reg2.log" ||
  fail "the TLS registry's access log shows no HTTP/2 manifest request: $(grep -m3 'GET /v2/' "$REGLOGS/reg2.log")"
expect_file_contains "$PLAIN_OUT" "Status: Image is up to date for $H2/private/base:1" "pull of an image whose blobs are present"
lk_ok images
expect_file_contains "$PLAIN_OUT" "$H2/private/base" "images lists the image pulled with a credential"

# A registry that requires a TLS client certificate: Docker's certs.d/<host>/{ca.crt,
# client.cert,client.key} beside the configuration file.
mkdir -p "$W/certs3/$H3"
cp "$W/ca.crt" "$W/client.cert" "$W/client.key" "$W/certs3/$H3/"
# (base:1: its blobs are in the store already; other:1's must stay out for the corrupt-blob case)
skopeo_ copy -q --dest-cert-dir "$W/certs3/$H3" "oci-archive:$W/base.tar" "docker://$H3/mtls/base:1"
mkdir -p "$W/certs.d/$H3"
cp "$W/ca.crt" "$W/certs.d/$H3/ca.crt"
# Without the client certificate the pull fails. (Under TLS 1.3 the server's "certificate
# required" alert races with its closing of the connection: the client sees the alert, and the
# message RegistryClientFailure.ClientCertificateRefusedNamesWhereItGoes checks, or a connection
# that closed early.)
lk pull "$H3/mtls/base:1"
[ "$RC" -eq 1 ] || fail "a pull without the client certificate exited $RC, want 1"
case "$(tail -n 1 "$PLAIN_ERR")" in
  "error: registry $H3 refused the TLS client certificate, or wanted one and got none; put the certificate in $W/certs.d/$H3/client.cert and its key in $W/certs.d/$H3/client.key, or set registries: {\"$H3\": {client_cert: /path/to/client.cert, client_key: /path/to/client.key}} in the latchkey configuration") ;;
  "error: registry $H3: manifest for $H3/mtls/base:1: the connection closed early ("*) ;;
  *) fail "a pull without the client certificate: $(tail -n 1 "$PLAIN_ERR")" ;;
esac
cp "$W/client.cert" "$W/client.key" "$W/certs.d/$H3/"
lk_ok pull --progress plain "$H3/mtls/base:1"
expect_file_contains "$PLAIN_OUT" "Status: Image is up to date for $H3/mtls/base:1" "a pull with a client certificate"
grep -q '"GET /v2/mtls/base/manifests/1 HTTP/2.0" 200 ' "$REGLOGS/reg3.log" ||
  fail "the client-certificate registry served no manifest"
rm -r "$W/certs.d"

# A corrupted blob in the registry's storage: digest mismatch, nothing stored.
other_layer=$(layer_of other 1 -1)
data="$W/reg1-data/docker/registry/v2/blobs/sha256/${other_layer:7:2}/${other_layer:7}/data"
[ -f "$data" ] || fail "no registry blob file $data"
python3 - "$data" <<'P'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xFF; open(p, "wb").write(b)
P
got=$(sha256sum "$data" | cut -d' ' -f1)
lk_err "blob $other_layer: digest mismatch (got sha256:$got)" pull "$H1/other:1"
[ -e "$STATE/builder/blobs/sha256/${other_layer:7}" ] && fail "the corrupt blob was stored"
[ -z "$(ls -A "$STATE/builder/ingest" 2> /dev/null)" ] || fail "partial blobs left in ingest/"
lk_ok images
expect_file_lacks "$PLAIN_OUT" "$H1/other" "images after the failed pull"

# --- Builds pull ------------------------------------------------------------------------------
# A fresh store: a build FROM an image that is not there pulls it (BuildKit's load metadata
# vertex, per-blob lines), RUN works on it, and the digest is in --metadata-file; the next
# build uses the local copy (no registry request at all); --pull resolves the moved tag again.
STATE=$W/build-state
cred_config
skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/app.tar" "docker://$H1/moving:1"
manifest_digest() {  # manifest_digest REPO TAG: what the plain registry resolves the tag to
  curl -fsI -H "$ACCEPT" "http://$H1/v2/$1/manifests/$2" | tr -d '\r' |
    awk 'tolower($1) == "docker-content-digest:" {print $2}'
}
first_digest=$(manifest_digest moving 1)
ctx5=$(new_context buildpull)
printf 'FROM %s/moving:1\nRUN (cat /app-one 2> /dev/null || echo none) > /got\n' "$H1" > "$ctx5/Dockerfile"
mark=$(wc -l < "$REGLOGS/reg1.log")
build_ok --metadata-file "$W/pull-meta.json" -t built:1 "$ctx5"
expect_file_contains "$ERR" "[internal] load metadata for $H1/moving:1" "the build's pull vertex"
grep -qE "^#[0-9]+ resolve $H1/moving:1@sha256:[0-9a-f]{64} [0-9.]+s done$" "$ERR" ||
  fail "no resolve line on the pull vertex"
grep -qE "^#[0-9]+ sha256:[0-9a-f]{64} [0-9.]+[kM]?B / [0-9.]+[kM]?B [0-9.]+s done$" "$ERR" ||
  fail "no per-blob progress line on the pull vertex"
tail -n +"$mark" "$REGLOGS/reg1.log" | grep "GET /v2/moving/manifests/1" > /dev/null ||
  fail "the build did not ask the registry for moving:1"
lk_ok image export built:1 -o "type=local,dest=$W/built1-root"
expect_eq "$(cat "$W/built1-root/got")" "one" "RUN in a build FROM a pulled image"
expect_eq "$(jq -c '."buildx.build.provenance".materials' "$W/pull-meta.json")" \
  "[{\"digest\":{\"sha256\":\"${first_digest#sha256:}\"},\"uri\":\"pkg:docker/$H1/moving@1?platform=linux%2Famd64\"}]" \
  "the pulled base's digest in --metadata-file"
lk_ok images
expect_file_contains "$PLAIN_OUT" "$H1/moving" "the build's pull is in the store"

skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/base.tar" "docker://$H1/moving:1"
moved_digest=$(manifest_digest moving 1)
[ "$moved_digest" != "$first_digest" ] || fail "the tag did not move"
mark=$(wc -l < "$REGLOGS/reg1.log")
build_ok -t built:2 "$ctx5"
expect_file_lacks "$ERR" "load metadata" "second build (local copy)"
new_requests=$(tail -n +"$((mark + 1))" "$REGLOGS/reg1.log" | grep '/v2/' || true)
[ -z "$new_requests" ] || fail "the second build asked the registry: $new_requests"
lk_ok image export built:2 -o "type=local,dest=$W/built2-root"
expect_eq "$(cat "$W/built2-root/got")" "one" "second build: the local copy, not the moved tag"

build_ok --pull --metadata-file "$W/pull-meta2.json" -t built:3 "$ctx5"
expect_file_contains "$ERR" "[internal] load metadata for $H1/moving:1" "--pull resolves again"
lk_ok image export built:3 -o "type=local,dest=$W/built3-root"
expect_eq "$(cat "$W/built3-root/got")" "none" "--pull builds FROM the moved tag"
expect_eq "$(jq -r '."buildx.build.provenance".materials[0].digest.sha256' "$W/pull-meta2.json")" \
  "${moved_digest#sha256:}" "--pull: the new digest in --metadata-file"

# Credentials in a build: the same broker source as `latchkey pull`; a wrong one fails with the
# registry's exact text.
ctx6=$(new_context buildprivate)
printf 'FROM %s/private/base:1\nRUN echo ok > /ok\n' "$H2" > "$ctx6/Dockerfile"
write_cred "wrong-$$"
build_fails "$ctx6"
expect_eq "$(last_err_line)" "ERROR: failed to solve: Dockerfile:1: $H2/private/base:1: failed to resolve source metadata for $H2/private/base:1: registry $H2: 401 Unauthorized: the credential from provider file ($W/cred.json) was rejected" \
  "a build with a wrong registry password"
write_cred "$CANARY"
build_ok -t private-built:1 "$ctx6"
expect_file_contains "$ERR" "[internal] load metadata for $H2/private/base:1" "a build pulling with a credential"

# --- Timing: latchkey pull vs skopeo copy of the same multi-layer image ---------------------
STATE=$W/timing-state
write_config
t0=$(date +%s.%N)
lk_ok pull -q "$H1/app:1"
t1=$(date +%s.%N)
skopeo_ copy -q --src-tls-verify=false "docker://$H1/app:1" "oci:$W/skopeo-app:1"
t2=$(date +%s.%N)
printf 'timing: latchkey pull %.2fs, skopeo copy %.2fs (app:1, 4 layers, %s bytes)\n' \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(du -sb "$W/skopeo-app/blobs" | cut -f1)"

# --- The canary password is in no output, log or state file ---------------------------------
b64=$(printf 'alice:%s' "$CANARY" | base64 -w0)
for needle in "$CANARY" "$b64"; do
  # (the file the credential came from is the one place it belongs)
  hits=$(grep -rlF -- "$needle" "$W" 2> /dev/null | grep -vx "$W/cred.json" || true)
  [ -z "$hits" ] || fail "the canary credential was found in: $hits"
done
echo "registry pull ok"
