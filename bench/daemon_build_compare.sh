#!/usr/bin/env bash
# latchkeyd vs embedded `latchkey build`, side by side in one run (issue 13; root, runc):
#   - a fully cached rebuild (FROM, COPY of a 100 MiB context, RUN) through the daemon vs in
#     embedded mode: median wall time of RUNS rebuilds each;
#   - the incremental context transfer after one 1 KiB file of that context changed (the
#     daemon's own "context: ... fetched in N ms" log line) and the whole rebuild's time.
#   bash bench/daemon_build_compare.sh BUILD_DIR        (RUNS=5 by default)
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
LK=$B/bin/latchkey
LKD=$B/bin/latchkeyd
RUNS=${RUNS:-5}
W=$(mktemp -d /tmp/lk-daemon-bench.XXXXXX)
DPID=""
trap '[ -n "$DPID" ] && kill "$DPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
r=$W/rootfs
mkdir -p "$r"/{bin,etc,tmp}
cp /bin/busybox "$r/bin/busybox"
chroot "$r" /bin/busybox --install -s /bin
printf 'state_dir: %s\n' "$W/state" > "$W/latchkey.yaml"
export LATCHKEY_CONFIG=$W/latchkey.yaml SOURCE_DATE_EPOCH=0
"$LK" audit keygen > /dev/null
for sd in "$W/state/builder" "$W/dstate/builder"; do
  "$LK" image import --rootfs "$r" -t busybox:bench --state-dir "$sd" > /dev/null
done
ctx=$W/ctx
mkdir -p "$ctx"
for i in $(seq 1 100); do head -c 1048576 /dev/urandom > "$ctx/blob$i"; done
head -c 1024 /dev/urandom > "$ctx/small"
printf 'FROM busybox:bench\nCOPY . /ctx\nRUN ls /ctx | wc -l\n' > "$ctx/Dockerfile"
SOCK=$W/run/lkd.sock
"$LKD" --state-dir "$W/dstate" --listen "unix://$SOCK" > "$W/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() {  # timed ARGS...: one build, wall ms
  local t0 t1
  t0=$(ms)
  "$LK" "$@" build --progress plain "$ctx" > /dev/null 2> "$W/last.err" || { cat "$W/last.err"; exit 1; }
  t1=$(ms)
  echo $(( (t1 - t0) / 1000000 ))
}
timed > /dev/null                          # embedded: fill the cache
timed --host "unix://$SOCK" > /dev/null    # daemon: fill its cache and its context mirror
emb=(); dmn=()
for _ in $(seq 1 "$RUNS"); do
  emb+=("$(timed)")
  dmn+=("$(timed --host "unix://$SOCK")")
done
e=$(printf '%s\n' "${emb[@]}" | median)
d=$(printf '%s\n' "${dmn[@]}" | median)
echo "cached rebuild, 100 MiB context: embedded median ${e} ms (${emb[*]}), daemon median ${d} ms (${dmn[*]}), ratio $(awk -v d="$d" -v e="$e" 'BEGIN {printf "%.2f", d / e}')"
inc=()
for _ in $(seq 1 "$RUNS"); do
  head -c 1024 /dev/urandom > "$ctx/small"
  t=$(timed --host "unix://$SOCK")
  line=$(grep 'context: ' "$W/daemon.log" | tail -1)
  inc+=("$(sed -E 's/.*fetched in ([0-9]+) ms.*/\1/' <<<"$line")")
  echo "  one 1 KiB file changed: build ${t} ms; ${line#*context: }"
done
echo "incremental context transfer (1 KiB of 100 MiB changed): median $(printf '%s\n' "${inc[@]}" | median) ms (${inc[*]})"
