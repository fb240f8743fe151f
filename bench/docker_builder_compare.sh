#!/usr/bin/env bash
# Docker Engine's BuildKit with Docker's own client vs with latchkey's broker, and embedded
# latchkey, side by side in one run (issue 16; root; Debian docker.io):
#   A  DOCKER_BUILDKIT=1 /usr/bin/docker build --secret ...       (Docker's client)
#   B  latchkey build --builder docker://unix://... --secret ...  (latchkey's broker, same Engine)
#   C  latchkey build --secret ...                                 (embedded)
# The same 10-step secret Dockerfile (each step mounts and reads a secret), --no-cache, on a
# busybox base, interleaved A B C for RUNS rounds on a private dockerd (own data root, exec
# root, socket). Reports each one's median wall time and B/A, the broker's overhead on a Docker
# build (goal: at most 1.05), and the fully cached rebuild the same way.
#   bash bench/docker_builder_compare.sh BUILD_DIR        (RUNS=5 by default)
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
LK=$B/bin/latchkey
RUNS=${RUNS:-5}
W=$(mktemp -d /tmp/lk-docker-bench.XXXXXX)
DPID=""
cleanup() {
  if [ -n "$DPID" ]; then
    kill "$DPID" 2> /dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DPID" 2> /dev/null || break; sleep 0.1; done
  fi
  rm -rf "$W"
}
trap cleanup EXIT
D=(/usr/bin/docker -H "unix://$W/docker.sock")
mkdir -p "$W/docker-root" "$W/docker-exec"
/usr/sbin/dockerd --storage-driver=overlay2 --iptables=false --bridge=none --data-root "$W/docker-root" \
  --exec-root "$W/docker-exec" --pidfile "$W/dockerd.pid" -H "unix://$W/docker.sock" \
  > "$W/dockerd.log" 2>&1 &
DPID=$!
for i in $(seq 1 120); do
  "${D[@]}" info > /dev/null 2>&1 && break
  [ "$i" -eq 120 ] && { echo "dockerd did not start: $(tail -5 "$W/dockerd.log")"; exit 1; }
  sleep 0.25
done
r=$W/rootfs
mkdir -p "$r"/{bin,etc,tmp}
cp /bin/busybox "$r/bin/busybox"
chroot "$r" /bin/busybox --install -s /bin
tar -C "$r" -c . | "${D[@]}" import -c 'CMD ["/bin/sh"]' - bkbase:1 > /dev/null
printf 'state_dir: %s\n' "$W/state" > "$W/latchkey.yaml"
export LATCHKEY_CONFIG=$W/latchkey.yaml SOURCE_DATE_EPOCH=0
"$LK" audit keygen > /dev/null
"$LK" image import --rootfs "$r" -t bkbase:1 > /dev/null
ctx=$W/ctx
mkdir -p "$ctx"
printf 'bench-secret-value-%s\n' "$RANDOM$RANDOM" > "$W/secret.txt"
{
  echo 'FROM bkbase:1'
  for i in $(seq 1 10); do
    echo "RUN --mount=type=secret,id=s wc -c /run/secrets/s > /step$i"
  done
} > "$ctx/Dockerfile"

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() {  # run KIND [--no-cache]: one build, wall ms
  local kind=$1 t0 t1
  shift
  t0=$(ms)
  case $kind in
    docker) DOCKER_BUILDKIT=1 "${D[@]}" build --secret "id=s,src=$W/secret.txt" --network none \
              --progress plain "$@" -t bench:docker "$ctx" > /dev/null 2> "$W/last.err" ;;
    lk-docker) "$LK" build --builder "docker://unix://$W/docker.sock" --secret "id=s,src=$W/secret.txt" \
                 --network none --progress plain "$@" -t bench:lkdocker "$ctx" > /dev/null 2> "$W/last.err" ;;
    embedded) "$LK" build --secret "id=s,src=$W/secret.txt" --network none --progress plain "$@" \
                -t bench:embedded "$ctx" > /dev/null 2> "$W/last.err" ;;
  esac || { echo "$kind build failed:"; cat "$W/last.err"; exit 1; }
  t1=$(ms)
  echo $(( (t1 - t0) / 1000000 ))
}
for k in docker lk-docker embedded; do run "$k" > /dev/null; done   # warm-up
report() {  # report LABEL ARGS...
  local label=$1 a=() b=() c=()
  shift
  for _ in $(seq 1 "$RUNS"); do
    a+=("$(run docker "$@")")
    b+=("$(run lk-docker "$@")")
    c+=("$(run embedded "$@")")
  done
  local ma mb mc
  ma=$(printf '%s\n' "${a[@]}" | median)
  mb=$(printf '%s\n' "${b[@]}" | median)
  mc=$(printf '%s\n' "${c[@]}" | median)
  echo "$label: docker build ${ma} ms (${a[*]}); latchkey --builder docker ${mb} ms (${b[*]}); embedded latchkey ${mc} ms (${c[*]})"
  echo "  latchkey --builder docker / docker build = $(awk -v b="$mb" -v a="$ma" 'BEGIN {printf "%.3f", b / a}'); embedded / docker build = $(awk -v c="$mc" -v a="$ma" 'BEGIN {printf "%.3f", c / a}')"
}
report "10 secret RUN steps, --no-cache" --no-cache
report "fully cached rebuild"
