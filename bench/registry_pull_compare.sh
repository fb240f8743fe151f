#!/usr/bin/env bash
# Side by side: pulling a multi-layer image from a local registry (Debian's docker-registry on
# 127.0.0.1) with `latchkey pull` into an empty store versus `skopeo copy docker://… oci:…`,
# alternated, in one run: wall time, CPU (user+sys) and max RSS of each.
# Usage: bench/registry_pull_compare.sh BUILD_DIR   (root; needs docker-registry, skopeo, runc)
#   LAYERS (default 5) x LAYER_MB (default 40) of incompressible data; RUNS (default 3).
set -euo pipefail
LK="$(cd "${1:-build}" && pwd)/bin/latchkey"
LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-40}
RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/lk-pull-bench.XXXXXX)
reg_pid=""
trap '[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
export LATCHKEY_CONFIG=$W/latchkey.yaml
echo "state_dir: $W/state" > "$LATCHKEY_CONFIG"
skopeo_() { unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && exec skopeo "$@"' sh "$@"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
H=127.0.0.1:$port
printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "%s", secret: bench}\nlog: {level: error, accesslog: {disabled: true}}\n' \
  "$W/reg-data" "$H" > "$W/reg.yml"
docker-registry serve "$W/reg.yml" > "$W/reg.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 100); do curl -fs "http://$H/v2/" > /dev/null 2>&1 && break; sleep 0.1; done

# The image: busybox plus LAYERS layers of LAYER_MB random bytes, built with latchkey.
R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp}
cp /bin/busybox "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s /bin
"$LK" image import --rootfs "$R" -t bench-base:1 > /dev/null
mkdir -p "$W/ctx"
{ echo "FROM bench-base:1"
  for i in $(seq 1 "$LAYERS"); do echo "RUN head -c $((LAYER_MB << 20)) /dev/urandom > /data$i"; done
} > "$W/ctx/Dockerfile"
"$LK" build --progress quiet -t bench:1 "$W/ctx" > /dev/null
"$LK" image export bench:1 -o "type=oci,dest=$W/bench.tar"
skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/bench.tar" "docker://$H/bench:1"
size=$(du -sb "$W/bench.tar" | cut -f1)
echo "image: $((LAYERS + 1)) layers, $size bytes (OCI archive)"

measure() {  # measure NAME CMD...: one run; prints wall, cpu, rss
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$W/time" "$@" > /dev/null
  read -r wall user sys rss < "$W/time"
  printf '%-14s wall %6.2fs  cpu %6.2fs  max RSS %4d MiB\n' "$name" "$wall" \
    "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
}
for r in $(seq 1 "$RUNS"); do
  rm -rf "$W/state" "$W/sk"
  echo "state_dir: $W/state" > "$LATCHKEY_CONFIG"
  measure latchkey "$LK" pull -q "$H/bench:1"
  sync
  measure skopeo unshare -m --propagation private sh -c \
    'mount -t tmpfs tmpfs /var/lib && exec skopeo copy -q --src-tls-verify=false "docker://$0/bench:1" "oci:$1/sk:1"' "$H" "$W"
  sync
done
