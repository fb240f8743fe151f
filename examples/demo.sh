#!/usr/bin/env bash
# `make demo`: a real build that uses secrets, on the embedded defaults. It starts a private
# image registry on 127.0.0.1 (Debian's docker-registry with htpasswd basic auth), makes a tiny
# base image from Debian's busybox-static and pushes it there, starts a private artifact server
# on 127.0.0.1 that wants a bearer token, builds examples/Dockerfile FROM the registry's base
# (pulled with the registry credential the broker serves) with two secrets (an .npmrc file and a
# token from the environment) and pushes the result, rebuilds from the cache, shows the image
# and the audit trail (registry grants next to the build secrets), and proves that none of the
# three secret values is left anywhere.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
lk="$build/bin/latchkey"
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/latchkey-demo.XXXXXX)
server_pid=""
registry_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rand() { head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
npm_token="npm_demo_$(rand)"
printf '//registry.npmjs.org/:_authToken=%s\n' "$npm_token" > "$work/npmrc"
chmod 600 "$work/npmrc"
export DEMO_REGISTRY_TOKEN="demo-token-$(rand)"
registry_password="demo-registry-pw-$(rand)"

echo "== A private image registry on 127.0.0.1 (Debian's docker-registry, htpasswd basic auth)"
command -v docker-registry > /dev/null || { echo "docker-registry is not installed (make deps)" >&2; exit 1; }
command -v htpasswd > /dev/null || { echo "htpasswd is not installed (make deps: apache2-utils)" >&2; exit 1; }
reg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg="127.0.0.1:$reg_port"
# The password goes to htpasswd on stdin (-i), never on a command line; only its bcrypt hash is stored.
printf '%s' "$registry_password" | htpasswd -niB demo > "$work/htpasswd" 2> /dev/null
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $work/registry}}
auth: {htpasswd: {realm: latchkey-demo, path: $work/htpasswd}}
http: {addr: "$reg", secret: demo-$(rand)}
YAML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
for i in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$reg/v2/" 2> /dev/null || true)
  [ "$code" = 401 ] && break
  [ "$i" -eq 100 ] && { echo "the registry did not start: $(tail -5 "$work/registry.log")" >&2; exit 1; }
  sleep 0.1
done
echo "listening on $reg; an anonymous GET /v2/ answers $code"
# latchkey never reads this file itself: the broker's file provider serves it as the secret
# registry:$reg (a credential helper's JSON), policy allows it for this host, the audit log
# records every grant.
printf '{"ServerURL":"%s","Username":"demo","Secret":"%s"}\n' "$reg" "$registry_password" \
  > "$work/registry-credential.json"
chmod 600 "$work/registry-credential.json"

# A private state directory keeps the demo away from /var/lib/latchkey.
cat > "$work/latchkey.yaml" <<YAML
state_dir: $work/state
registries:
  "$reg": {provider: file, ref: $work/registry-credential.json}
policy:
  rules:
    - {name: demo-registry, kind: registry, host: "$reg", allow: true,
       reason: the demo may pull from and push to its own registry}
YAML
export LATCHKEY_CONFIG="$work/latchkey.yaml"
cat "$work/latchkey.yaml"

echo
echo "== A base image from Debian's busybox-static, pushed to the private registry"
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for app in $(/bin/busybox --list); do
  [ "$app" = busybox ] || ln -sf busybox "$rootfs/bin/$app"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
"$lk" image import --rootfs "$rootfs" -t "$reg/demo/base:1"
"$lk" push "$reg/demo/base:1" | tee "$work/push-base.log"
# Out of the local store again (tag and blobs), so the build below really pulls it.
"$lk" image rm "$reg/demo/base:1"

echo
echo "== A private artifact server on 127.0.0.1 that answers 401 without the bearer token"
mkdir -p "$work/srv" "$work/app"
echo "hello from the private registry" > "$work/app/hello.txt"
tar -C "$work/app" -cf "$work/srv/app.tar" .
printf '%s' "$DEMO_REGISTRY_TOKEN" > "$work/token"
chmod 600 "$work/token"
python3 "$src/examples/private_registry.py" "$work/srv" "$work/token" "$work/port" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
if /bin/busybox wget -q -O /dev/null "http://127.0.0.1:$port/app.tar" 2>/dev/null; then
  echo "the server let an anonymous request through" >&2
  exit 1
fi
echo "listening on 127.0.0.1:$port; an anonymous GET /app.tar is refused"

echo
echo "== What examples/Dockerfile asks for, before anything runs"
"$lk" dockerfile outline "$src/examples/Dockerfile"

echo
echo "== latchkey build: FROM $reg/demo/base:1 (pulled with the brokered registry credential),"
echo "   secrets fetched through the broker when their step runs, the result pushed to $reg"
build_flags=(--secret "id=npmrc,src=$work/npmrc" --secret id=registry-token,env=DEMO_REGISTRY_TOKEN
  --build-arg "BASE=$reg/demo/base:1" --build-arg "REGISTRY=http://127.0.0.1:$port" -t demo-app:latest)
"$lk" build --progress plain "${build_flags[@]}" \
  -o "type=image,name=$reg/demo/app:1,push=true" --metadata-file "$work/metadata.json" \
  -o "type=oci,dest=$work/demo-app.tar" -o "type=local,dest=$work/out" \
  "$src/examples" 2>&1 | tee "$work/build.log"
pushed=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' \
  "$work/metadata.json")
stored=$(cat "$work/registry/docker/registry/v2/repositories/demo/app/_manifests/tags/1/current/link")
[ "$pushed" = "$stored" ] || { echo "pushed $pushed, but the registry's tag demo/app:1 is $stored" >&2; exit 1; }
echo "pushed $reg/demo/app:1@$pushed (--metadata-file containerimage.digest; the registry's tag agrees)"

echo
echo "== Rebuild: every step is a cache hit (secret values are never part of a cache key)"
start=$(date +%s%N)
"$lk" build --progress plain "${build_flags[@]}" "$src/examples" 2>&1 | tee -a "$work/build.log" \
  | grep -E 'CACHED|naming'
echo "rebuild took $(( ($(date +%s%N) - start) / 1000000 )) ms"

echo
echo "== The image: in the local store, as an OCI archive and as a root filesystem"
"$lk" images
"$lk" image inspect demo-app:latest | python3 -c '
import json, sys
cfg = json.load(sys.stdin)["config"]
print("history:")
for h in cfg["history"]:
    print("  " + ("(empty) " if h.get("empty_layer") else "(layer) ") + h["created_by"])
'
echo "the image's files (-o type=local): $(find "$work/out" -mindepth 1 | wc -l) entries; the build added:"
(cd "$work/out" && find srv -print | sort | sed 's/^/  \//')
echo "out/srv/app/hello.txt: $(cat "$work/out/srv/app/hello.txt")"
ls -l "$work/demo-app.tar"

echo
echo "== The audit log: who got which secret, for which step or registry request (values never appear)"
"$lk" audit search --state-dir "$work/state" --format table

echo
echo "== Was this exact .npmrc ever handed out? (HMAC lookup)"
hmac=$("$lk" audit hash --state-dir "$work/state" --value-file "$work/npmrc")
"$lk" audit search --state-dir "$work/state" --hmac "$hmac" --format table

echo
echo "== Was this registry password ever handed out? (HMAC of the password alone: it finds every"
echo "   grant of the credential it is part of)"
hmac=$(printf '%s' "$registry_password" | "$lk" audit hash --state-dir "$work/state" --value-file -)
"$lk" audit search --state-dir "$work/state" --hmac "$hmac" --format table

echo
echo "== Verify the audit log's hash chain and checkpoint signatures"
"$lk" audit verify --state-dir "$work/state" --pubkey "$work/state/audit-signing.pub"

echo
echo "== No secret value is anywhere: layers (local store, OCI archive, registry), config,"
echo "   rootfs, state and audit log, build and push output, registry log"
mkdir -p "$work/archive"
tar -C "$work/archive" -xf "$work/demo-app.tar"
registry_basic=$(printf 'demo:%s' "$registry_password" | base64 -w0)
secrets=(-e "$npm_token" -e "$DEMO_REGISTRY_TOKEN" -e "$registry_password" -e "$registry_basic")
for blob in "$work"/archive/blobs/sha256/* "$work"/state/builder/images/blobs/sha256/* \
  "$work"/registry/docker/registry/v2/blobs/sha256/*/*/data; do
  if zcat -f "$blob" | grep -qaF "${secrets[@]}"; then
    echo "LEAK: a secret value was found in $blob" >&2
    exit 1
  fi
done
# Every file of the demo but the three the values came from (the token file, the .npmrc and the
# registry credential).
leaks=$(grep -rlaF "${secrets[@]}" "$work" | grep -vxF -e "$work/token" -e "$work/npmrc" \
  -e "$work/registry-credential.json" || true)
if [ -n "$leaks" ]; then
  echo "LEAK: a secret value was found in: $leaks" >&2
  exit 1
fi
echo "no secret value found in any blob, $work/state (audit log included), the registry's storage"
echo "and log, the rootfs export, or the build and push output"
