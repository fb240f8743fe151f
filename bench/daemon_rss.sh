#!/usr/bin/env bash
# latchkeyd's memory at rest (issue 13: idle RSS <= 32 MiB), side by side with Docker Engine's
# dockerd (+ its containerd) idle on the same machine in the same run, when dockerd is
# installed. Usage: bench/daemon_rss.sh [BUILD_DIR] (default build-release, else build).
# Prints one line per figure; bench/README.md has the numbers and how they were taken.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
[ -z "$build" ] && { [ -x "$SRC/build-release/bin/latchkeyd" ] && build=$SRC/build-release || build=$SRC/build; }
build=$(cd "$build" && pwd)
PY=/usr/bin/python3
W=$(mktemp -d /tmp/lk-daemon-rss.XXXXXX)
DPID=""
CPID=""
KPID=""
cleanup() {
  for p in $CPID $DPID $KPID; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
kib() { awk -v k="$2" '$1==k":"{print $2}' "/proc/$1/status"; }
mib() { awk -v v="$1" 'BEGIN{printf "%.1f MiB", v/1024}'; }

printf 'state_dir: %s\n' "$W/state" > "$W/latchkey.yaml"
LATCHKEY_CONFIG=$W/latchkey.yaml "$build/bin/latchkeyd" --listen "unix://$W/d.sock" > "$W/d.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do [ -S "$W/d.sock" ] && break; sleep 0.1; done
sleep 2
echo "latchkeyd ($build): idle after start: RSS $(mib "$(kib $DPID VmRSS)"), threads $(kib $DPID Threads)"
"$PY" - "$SRC/api" "$W" "unix://$W/d.sock" << 'PYEOF'
import os, subprocess, sys
api, w, target = sys.argv[1:4]
out = os.path.join(w, "gen")
os.makedirs(out, exist_ok=True)
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", api, "--python_out=" + out,
                "--grpc_python_out=" + out, "latchkey/v1/control.proto"], check=True)
sys.path.insert(0, out)
import grpc
from latchkey.v1 import control_pb2, control_pb2_grpc
stub = control_pb2_grpc.ControlStub(grpc.insecure_channel(target))
for _ in range(100):
    stub.Info(control_pb2.InfoRequest(), timeout=10)
    stub.Images(control_pb2.ImagesRequest(), timeout=10)
PYEOF
sleep 1
echo "latchkeyd: idle after 100 Info + 100 Images calls: RSS $(mib "$(kib $DPID VmRSS)"), peak $(mib "$(kib $DPID VmHWM)"), threads $(kib $DPID Threads)"
"$PY" -c "
import socket, sys, time
cs = []
for _ in range(200):
    s = socket.socket(socket.AF_UNIX); s.connect('$W/d.sock'); cs.append(s)
print('ready', flush=True)
time.sleep(3)
" > "$W/idle.out" &
CPID=$!
for _ in $(seq 1 50); do grep -q ready "$W/idle.out" 2> /dev/null && break; sleep 0.1; done
sleep 1
echo "latchkeyd: with 200 idle connections: RSS $(mib "$(kib $DPID VmRSS)"), threads $(kib $DPID Threads), descriptors $(ls /proc/$DPID/fd | wc -l)"
wait "$CPID" || true
CPID=""

if command -v dockerd > /dev/null; then
  mkdir -p "$W/docker-root" "$W/docker-exec"
  dockerd --storage-driver=overlay2 --iptables=false --bridge=none --data-root "$W/docker-root" \
    --exec-root "$W/docker-exec" --pidfile "$W/dockerd.pid" -H "unix://$W/docker.sock" > "$W/dockerd.log" 2>&1 &
  KPID=$!
  for _ in $(seq 1 60); do [ -S "$W/docker.sock" ] && break; sleep 0.5; done
  sleep 5
  c=$(pgrep -P "$KPID" containerd || true)
  total=$(kib $KPID VmRSS)
  line="dockerd (peer): idle after start: RSS $(mib "$total")"
  if [ -n "$c" ]; then
    line="$line + containerd $(mib "$(kib "$c" VmRSS)")"
  fi
  echo "$line, threads $(kib $KPID Threads)"
fi
