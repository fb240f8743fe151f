#!/usr/bin/env bash
# `make demo`: a real build that uses secrets, on the embedded defaults. It makes a tiny base
# image from Debian's busybox-static, starts a private artifact server on 127.0.0.1 that wants
# a bearer token, builds examples/Dockerfile with two secrets (an .npmrc file and a token from
# the environment), rebuilds from the cache, shows the image and the audit trail, and proves
# that neither secret value is left anywhere.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
lk="$build/bin/latchkey"
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/latchkey-demo.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A private state directory keeps the demo away from /var/lib/latchkey.
cat > "$work/latchkey.yaml" <<YAML
state_dir: $work/state
YAML
export LATCHKEY_CONFIG="$work/latchkey.yaml"

rand() { head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
npm_token="npm_demo_$(rand)"
printf '//registry.npmjs.org/:_authToken=%s\n' "$npm_token" > "$work/npmrc"
chmod 600 "$work/npmrc"
export DEMO_REGISTRY_TOKEN="demo-token-$(rand)"

echo "== A base image from Debian's busybox-static (latchkey works offline: no registry)"
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
"$lk" image import --rootfs "$rootfs" -t busybox:demo

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
echo "== latchkey build: secrets are fetched through the broker when their step runs"
build_flags=(--secret "id=npmrc,src=$work/npmrc" --secret id=registry-token,env=DEMO_REGISTRY_TOKEN
  --build-arg "REGISTRY=http://127.0.0.1:$port" -t demo-app:latest)
"$lk" build --progress plain "${build_flags[@]}" \
  -o "type=oci,dest=$work/demo-app.tar" -o "type=local,dest=$work/out" \
  "$src/examples" 2>&1 | tee "$work/build.log"

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
echo "== The audit log: who got which secret, for which step (values never appear)"
"$lk" audit search --state-dir "$work/state" --format table

echo
echo "== Was this exact .npmrc ever handed out? (HMAC lookup)"
hmac=$("$lk" audit hash --state-dir "$work/state" --value-file "$work/npmrc")
"$lk" audit search --state-dir "$work/state" --hmac "$hmac" --format table

echo
echo "== Verify the audit log's hash chain and checkpoint signatures"
"$lk" audit verify --state-dir "$work/state" --pubkey "$work/state/audit-signing.pub"

echo
echo "== Neither secret value is anywhere: layers, config, OCI archive, rootfs, state, build log"
mkdir -p "$work/archive"
tar -C "$work/archive" -xf "$work/demo-app.tar"
for blob in "$work"/archive/blobs/sha256/* "$work"/state/builder/images/blobs/sha256/*; do
  if zcat -f "$blob" | grep -qaF -e "$npm_token" -e "$DEMO_REGISTRY_TOKEN"; then
    echo "LEAK: a secret value was found in $blob" >&2
    exit 1
  fi
done
for place in "$work/state" "$work/out" "$work/build.log"; do
  if grep -rqaF -e "$npm_token" -e "$DEMO_REGISTRY_TOKEN" "$place"; then
    echo "LEAK: a secret value was found in $place" >&2
    exit 1
  fi
done
echo "no secret value found in any blob, $work/state, the rootfs export or the build log"
