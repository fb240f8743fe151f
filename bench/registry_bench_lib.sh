# Shared by bench/registry_*_compare.sh (sourced; `set -euo pipefail` and $LK set by the
# caller): a temp dir $W with a latchkey config, Debian's docker-registry on 127.0.0.1 ($H,
# storage $W/reg-data, pid $reg_pid, stopped on exit; restart_registry empties it), the bench
# image bench:1 built with latchkey (busybox plus LAYERS layers of LAYER_MB random bytes) and
# `measure NAME CMD...` (wall, CPU, max RSS of one run).
LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-40}
RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/lk-registry-bench.XXXXXX)
reg_pid=""
trap '[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
export LATCHKEY_CONFIG=$W/latchkey.yaml
echo "state_dir: $W/state" > "$LATCHKEY_CONFIG"
skopeo_() { unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && exec skopeo "$@"' sh "$@"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
H=127.0.0.1:$port
printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "%s", secret: bench}\nlog: {level: error, accesslog: {disabled: true}}\n' \
  "$W/reg-data" "$H" > "$W/reg.yml"
start_registry() {
  docker-registry serve "$W/reg.yml" > "$W/reg.log" 2>&1 &
  reg_pid=$!
  for _ in $(seq 1 100); do curl -fs "http://$H/v2/" > /dev/null 2>&1 && break; sleep 0.1; done
}
# An empty registry again (stop, remove its storage, start).
restart_registry() {
  kill "$reg_pid" 2> /dev/null
  wait "$reg_pid" 2> /dev/null || true
  rm -rf "$W/reg-data"
  start_registry
}
start_registry

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

measure() {  # measure NAME CMD...: one run; prints wall, cpu, rss
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$W/time" "$@" > /dev/null
  read -r wall user sys rss < "$W/time"
  printf '%-14s wall %6.2fs  cpu %6.2fs  max RSS %4d MiB\n' "$name" "$wall" \
    "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
}
