#!/usr/bin/env bash
# The real workload of issue 15, side by side in one run: latchkey, buildah 1.28 (`--isolation
# chroot`, overlay driver, `--layers`) and Docker Engine's BuildKit (dockerd on a private socket
# and data root) build the same three-stage Dockerfile from the same Debian 12 base:
#
#   base   `mmdebstrap --variant=minbase bookworm` (made once, cached as a tar under
#          $LATCHKEY_BENCH_CACHE, default ~/.cache/latchkey-bench), imported into each tool
#          untimed: `latchkey image import --rootfs`, `buildah pull oci-archive:` (the archive
#          `latchkey image export -o type=oci` wrote), `docker import` of the rootfs tar.
#   build  `apt-get update && apt-get install -y nodejs npm`, then `npm install` of a small
#          package.json with an `.npmrc` secret (`RUN --mount=type=secret,id=npmrc,target=
#          /root/.npmrc`) holding the public registry and a fake `_authToken` canary.
#   final  the base plus `COPY --from=build /app /app`.
#
# Rounds alternate the tools (the order rotates every round). For each tool and round: a fresh
# storage root with only the base in it, a cold build, a cached rebuild of the same files, then
# `du` of the tool's storage. Printed per build: wall time, CPU (user+sys of the tool and
# everything it waited for; for Docker the deltas of dockerd and containerd with their reaped
# children: BuildKit runs runc as dockerd's child), peak RSS of the tool's own processes
# (VmHWM sampled every 0.2 s: latchkey; buildah; dockerd + containerd, whose lifetime is the
# round; /usr/bin/time's max RSS for a build over before the first sample) and the storage size after the build. Once per tool: the final image's uncompressed
# size (sum of its layer tars) and a search of every layer and the config for the canary
# (found = the script fails). For latchkey also `latchkey du -v` after round 1's cold build, and
# the state dir after `latchkey prune --all`, split into the tagged images' blobs and what the
# build left (the figure of issue 15's "<= 5 %" goal, bench/README.md).
# The summary gives medians and ratios peer / latchkey (> 1: latchkey is faster / smaller).
#
# The host's proxy environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, either case) is passed to
# every tool as build args (predefined ARGs in all three), and the host's CA bundle
# ($SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt) is bind-mounted from the context
# into the npm step as NODE_EXTRA_CA_CERTS, so a TLS-intercepting egress proxy works too.
#
# Usage: bench/realworld.sh [--rounds N] [--tools latchkey,buildah,docker] [BUILD_DIR]
#   BUILD_DIR: a Release build (`make release-configure && cmake --build build-release
#   --target latchkey_dist`: the binary and its providers), default build-release. Root; needs mmdebstrap, buildah, docker.io
#   (/usr/bin/docker and dockerd), /usr/bin/time, python3 (`make deps` installs them).
#   Network: deb.debian.org and registry.npmjs.org. About 3-5 minutes per round.
set -euo pipefail

ROUNDS=3
TOOLS=latchkey,buildah,docker
BUILD_DIR=build-release
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --rounds=*) ROUNDS=${1#*=}; shift ;;
    --tools) TOOLS=$2; shift 2 ;;
    --tools=*) TOOLS=${1#*=}; shift ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    -*) echo "realworld.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
    *) BUILD_DIR=$1; shift ;;
  esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "realworld.sh: --rounds wants a positive number, got \"$ROUNDS\"" >&2; exit 2; }
LK="$(cd "$BUILD_DIR" && pwd)/bin/latchkey"
[ -x "$LK" ] || [[ ",$TOOLS," != *,latchkey,* && ",$TOOLS," != *,buildah,* ]] \
  || { echo "realworld.sh: no latchkey binary in $BUILD_DIR (bin/latchkey)" >&2; exit 2; }
# Without its providers latchkey skips the (optional) secret mount, as BuildKit does for a missing
# secret; the npm step checks that .npmrc is there too.
[ -e "$(dirname "$LK")/../lib/latchkey/providers/latchkey-file.so" ] || [[ ",$TOOLS," != *,latchkey,* ]] \
  || { echo "realworld.sh: $BUILD_DIR has no providers: cmake --build $BUILD_DIR --target latchkey_dist" >&2; exit 2; }
DOCKER=/usr/bin/docker  # not another docker client first on PATH (peer-tools notes, §8)
for tool in mmdebstrap buildah dockerd "$DOCKER" /usr/bin/time python3; do
  command -v "$tool" > /dev/null \
    || { echo "realworld.sh: missing $tool (apt-get install mmdebstrap buildah docker.io time python3)" >&2; exit 2; }
done
HERE=$(cd "$(dirname "$0")" && pwd)

CACHE=${LATCHKEY_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey-bench}
BASE_TAR=$CACHE/bookworm-minbase.tar
mkdir -p "$CACHE"
if [ ! -s "$BASE_TAR" ]; then
  echo "== making the base once: mmdebstrap --variant=minbase bookworm $BASE_TAR" >&2
  mmdebstrap --variant=minbase bookworm "$BASE_TAR.partial.tar" >&2
  mv "$BASE_TAR.partial.tar" "$BASE_TAR"
fi

# Lower case only: buildah turns paths into image names.
W=/tmp/lk-realworld-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
mkdir -m 0700 "$W"
DOCKERD_PID=
cleanup() {
  jobs -p | xargs -r kill 2> /dev/null || true
  if [ -n "$DOCKERD_PID" ]; then kill "$DOCKERD_PID" 2> /dev/null || true; wait "$DOCKERD_PID" 2> /dev/null || true; fi
  awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf "$W"
}
trap cleanup EXIT

# The base as a directory (latchkey), an OCI archive (buildah) and the tar itself (docker).
mkdir -p "$W/rootfs" "$W/tmp" "$W/ctx"
tar -C "$W/rootfs" -xf "$BASE_TAR"
if [[ ",$TOOLS," == *,buildah,* ]]; then
  printf 'state_dir: %s\n' "$W/lk-seed" > "$W/seed.yaml"
  LATCHKEY_CONFIG="$W/seed.yaml" "$LK" image import --rootfs "$W/rootfs" -t bench-base:1 > /dev/null
  LATCHKEY_CONFIG="$W/seed.yaml" "$LK" image export bench-base:1 -o "type=oci,dest=$W/base-oci.tar" > /dev/null
  rm -rf "$W/lk-seed"
fi

# The build context.
CANARY="npm_LkBenchCanary$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf 'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=%s\n' "$CANARY" > "$W/npmrc"
chmod 600 "$W/npmrc"
cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$W/ctx/host-ca.crt"
cat > "$W/ctx/package.json" <<'EOF'
{
  "name": "latchkey-bench-app",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "left-pad": "1.3.0",
    "is-odd": "3.0.1",
    "ms": "2.1.3",
    "kleur": "4.1.5"
  }
}
EOF
cat > "$W/ctx/index.js" <<'EOF'
const leftPad = require('left-pad'), isOdd = require('is-odd'), ms = require('ms');
console.log(leftPad(String(isOdd(3)), 8), ms('2 days'));
EOF
for tool in latchkey buildah docker; do
  case $tool in
    latchkey) from=bench-base:1 ;;
    buildah) from=localhost/bench-base:1 ;;
    docker) from=bench-base:1 ;;
  esac
  cat > "$W/ctx/Dockerfile.$tool" <<EOF
FROM $from AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y nodejs npm
WORKDIR /app
COPY package.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \\
    --mount=type=bind,source=host-ca.crt,target=/run/host-ca.crt \\
    test -s /root/.npmrc && NODE_EXTRA_CA_CERTS=/run/host-ca.crt npm install --no-audit --no-fund
COPY index.js ./

FROM $from
COPY --from=build /app /app
WORKDIR /app
CMD ["/bin/sh", "-c", "ls node_modules"]
EOF
done

# The host's proxy settings, as predefined build args.
PROXY_ARGS=()
for v in HTTP_PROXY http_proxy HTTPS_PROXY https_proxy NO_PROXY no_proxy; do
  [ -n "${!v:-}" ] && PROXY_ARGS+=(--build-arg "$v=${!v}")
done

# buildah's confinement (peer-tools notes §0): /etc, /var and /run behind overlayfs in a private
# mount namespace, so it writes nothing on the host.
cat > "$W/confine.sh" <<'EOS'
#!/bin/sh
exec unshare -m --propagation private sh -c '
ST=$1; shift
for d in etc var run; do
  mkdir -p "$ST/$d-upper" "$ST/$d-work"
  mount -t overlay overlay -o lowerdir=/$d,upperdir=$ST/$d-upper,workdir=$ST/$d-work /$d || exit 97
done
exec "$@"' sh "$CONFINE_STATE" "$@"
EOS
chmod +x "$W/confine.sh"
export TMPDIR=$W/tmp

# VmHWM (kB) of each pid in $@, sampled every 0.2 s until the file $STOP exists; prints the sum
# of the per-pid maxima.
hwm_sampler() {
  local stop=$1; shift
  python3 - "$stop" "$@" <<'EOP'
import os, sys, time
stop, pids = sys.argv[1], sys.argv[2:]
peak = {}
def sample():
    for p in list(pids):
        p = p if p.isdigit() else None
        if p is None: continue
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmHWM:"):
                    peak[p] = max(peak.get(p, 0), int(line.split()[1]))
        except OSError:
            pass
alive = lambda: any(os.path.exists(f"/proc/{p}") for p in pids)
while not os.path.exists(stop) and alive():
    sample(); time.sleep(0.2)
sample()
print(sum(peak.values()))
EOP
}

# CPU seconds (user+sys, own and reaped children) of a live pid.
cpu_of() {
  awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz}' "/proc/$1/stat"
}

RESULTS=$W/results.tsv  # tool round kind wall cpu rss_kib state_bytes
: > "$RESULTS"
# timed TOOL ROUND KIND STATE_DIR CMD...: runs CMD under /usr/bin/time, samples the RSS of the
# command's own process, records a line in $RESULTS.
timed() {
  local tool=$1 round=$2 kind=$3 state=$4; shift 4
  local stop="$W/stop.$RANDOM" tf="$W/time.$RANDOM" log="$W/logs/$tool.$round.$kind.log"
  mkdir -p "$W/logs"
  local t0 t1 c0=0 c1=0
  if [ "$tool" = docker ]; then c0=$(awk -v a="$(cpu_of "$DOCKERD_PID")" -v b="$(cpu_of "$CONTAINERD_PID")" 'BEGIN{print a+b}'); fi
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$tf" "$@" > "$log" 2>&1 &
  local pid=$!
  local watch=("$pid")
  [ "$tool" = docker ] && watch=("$DOCKERD_PID" "$CONTAINERD_PID")
  if [ "$tool" != docker ]; then
    # The tool itself is /usr/bin/time's child.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      local child; child=$(pgrep -P "$pid" | head -1 || true)
      [ -n "$child" ] && { watch=("$child"); break; }
      sleep 0.02
    done
  fi
  hwm_sampler "$stop" "${watch[@]}" > "$stop.rss" &
  local sampler=$!
  local rc=0
  wait "$pid" || rc=$?
  t1=$(date +%s.%N)
  touch "$stop"; wait "$sampler"
  if [ $rc -ne 0 ]; then echo "realworld.sh: $tool $kind build failed (exit $rc); its log:" >&2; tail -40 "$log" >&2; exit 1; fi
  local cpu
  if [ "$tool" = docker ]; then
    c1=$(awk -v a="$(cpu_of "$DOCKERD_PID")" -v b="$(cpu_of "$CONTAINERD_PID")" 'BEGIN{print a+b}')
    cpu=$(awk -v c0="$c0" -v c1="$c1" -v t="$(cat "$tf")" 'BEGIN{split(t, x, " "); print c1 - c0 + x[1] + x[2]}')
  else
    cpu=$(awk '{print $1 + $2}' "$tf")
  fi
  # A build that ended before the first sample (a cached one): /usr/bin/time's max RSS, which
  # is the tool's own when it started no child.
  [ "$(cat "$stop.rss")" -gt 0 ] || awk '{print $3}' "$tf" > "$stop.rss"
  local bytes; bytes=$(du -sb "$state" | cut -f1)
  printf '%s\t%s\t%s\t%.3f\t%.2f\t%s\t%s\n' "$tool" "$round" "$kind" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" "$cpu" "$(cat "$stop.rss")" "$bytes" >> "$RESULTS"
  printf '  %-8s round %s %-6s wall %7.2f s  cpu %7.2f s  peak RSS %6s KiB  storage %s MiB\n' \
    "$tool" "$round" "$kind" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" "$cpu" "$(cat "$stop.rss")" "$((bytes >> 20))" >&2
}

# Uncompressed size of an archive's image (OCI or docker-archive) and whether the canary is in
# any layer (decompressed), the config or the manifest.
inspect_archive() {
  python3 - "$1" "$CANARY" <<'EOP'
import gzip, io, json, sys, tarfile, zlib
path, canary = sys.argv[1], sys.argv[2].encode()
tf = tarfile.open(path)
names = {m.name.lstrip("./"): m for m in tf.getmembers()}
def read(name):
    return tf.extractfile(names[name.lstrip("./")]).read()
def stream_has(name, compressed):
    f = tf.extractfile(names[name.lstrip("./")])
    d = zlib.decompressobj(16 + zlib.MAX_WBITS) if compressed else None
    size, tail, found = 0, b"", False
    while True:
        chunk = f.read(1 << 20)
        if not chunk: break
        if d: chunk = d.decompress(chunk)
        size += len(chunk)
        if canary in tail + chunk: found = True
        tail = chunk[-len(canary):]
    return size, found
layers, docs = [], []
if "manifest.json" in names:                      # docker-archive
    m = json.loads(read("manifest.json"))[0]
    docs.append(read(m["Config"]))
    layers = [(l, False) for l in m["Layers"]]
else:                                             # OCI archive
    idx = json.loads(read("index.json"))
    mdig = idx["manifests"][0]["digest"].split(":")[1]
    man = read(f"blobs/sha256/{mdig}")
    docs.append(man)
    man = json.loads(man)
    docs.append(read("blobs/sha256/" + man["config"]["digest"].split(":")[1]))
    for l in man["layers"]:
        layers.append(("blobs/sha256/" + l["digest"].split(":")[1], "gzip" in l["mediaType"]))
total, found = 0, any(canary in d for d in docs)
for name, comp in layers:
    if not comp:
        head = tf.extractfile(names[name.lstrip("./")]).read(2)
        comp = head == b"\x1f\x8b"
    size, hit = stream_has(name, comp)
    total += size; found = found or hit
print(total, "LEAK" if found else "clean")
EOP
}

docker_up() {
  local root=$1
  mkdir -p "$root/data" "$root/exec"
  dockerd --storage-driver=overlay2 --iptables=false --bridge=none \
    --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/dockerd.pid" \
    -H "unix://$root/docker.sock" > "$root/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 120); do
    "$DOCKER" -H "unix://$root/docker.sock" info > /dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER" -H "unix://$root/docker.sock" info > /dev/null 2>&1 \
    || { echo "realworld.sh: dockerd did not start; its log:" >&2; tail -20 "$root/dockerd.log" >&2; exit 1; }
  CONTAINERD_PID=$(pgrep -o -P "$DOCKERD_PID" -x containerd)
}
docker_down() {
  kill "$DOCKERD_PID"; wait "$DOCKERD_PID" 2> /dev/null || true
  DOCKERD_PID=
}

SIZES=$W/sizes.tsv  # tool uncompressed_bytes canary
: > "$SIZES"
run_tool() {
  local tool=$1 round=$2 root="$W/$1-$2"
  mkdir -p "$root"
  case $tool in
    latchkey)
      printf 'state_dir: %s\n' "$root/state" > "$root/latchkey.yaml"
      export LATCHKEY_CONFIG="$root/latchkey.yaml"
      "$LK" image import --rootfs "$W/rootfs" -t bench-base:1 > /dev/null
      local b=("$LK" build --progress plain --secret "id=npmrc,src=$W/npmrc" "${PROXY_ARGS[@]}"
               -f "$W/ctx/Dockerfile.latchkey" -t bench-app:1 "$W/ctx")
      timed latchkey "$round" cold "$root/state" "${b[@]}"
      if [ "$round" = 1 ]; then
        # Where the state dir's bytes are after one build: `latchkey du -v`, and du of each part.
        { echo "== latchkey du -v after the cold build"; "$LK" du -v
          echo "== du -sk of the state dir's parts (KiB)"
          (cd "$root/state" && du -sk builder/images/blobs builder/images/compressed builder/layers/sha256 \
             builder/cache builder/tmp builder/scratch 2> /dev/null; du -sk . 2> /dev/null)
        } > "$W/logs/latchkey.du" 2>&1 || true
        cat "$W/logs/latchkey.du" >&2
      fi
      timed latchkey "$round" cached "$root/state" "${b[@]}"
      if [ "$round" = 1 ]; then
        "$LK" image export bench-app:1 -o "type=oci,dest=$root/image.tar" > /dev/null
        printf 'latchkey\t%s\n' "$(inspect_archive "$root/image.tar")" >> "$SIZES"
        rm -f "$root/image.tar"
      fi
      "$LK" prune --all -f > /dev/null
      printf 'latchkey\t%s\tpruned\t0\t0\t0\t%s\n' "$round" "$(du -sb "$root/state" | cut -f1)" >> "$RESULTS"
      # What prune --all may not delete: the blobs the tagged images (bench-base:1, bench-app:1)
      # reference, each once.
      printf 'latchkey\t%s\timages\t0\t0\t0\t%s\n' "$round" "$(python3 - "$root/state/builder/images" <<'EOP'
import json, os, sys
layout = sys.argv[1]
blob = lambda d: os.path.join(layout, "blobs", "sha256", d.split(":", 1)[1])
seen = set()
for m in json.load(open(os.path.join(layout, "index.json"))).get("manifests", []):
    seen.add(m["digest"])
    man = json.load(open(blob(m["digest"])))
    seen.add(man["config"]["digest"])
    seen.update(l["digest"] for l in man["layers"])
print(sum(os.path.getsize(blob(d)) for d in seen))
EOP
)" >> "$RESULTS"
      unset LATCHKEY_CONFIG
      ;;
    buildah)
      export CONFINE_STATE=$root/confine
      local bh=("$W/confine.sh" buildah --root "$root/storage" --runroot "$root/run" --storage-driver overlay)
      "${bh[@]}" pull -q "oci-archive:$W/base-oci.tar" > "$root/base.id"
      "${bh[@]}" tag "$(cat "$root/base.id")" localhost/bench-base:1
      local b=("${bh[@]}" build --isolation chroot --layers --secret "id=npmrc,src=$W/npmrc"
               "${PROXY_ARGS[@]}" -f "$W/ctx/Dockerfile.buildah" -t localhost/bench-app:1 "$W/ctx")
      timed buildah "$round" cold "$root/storage" "${b[@]}"
      timed buildah "$round" cached "$root/storage" "${b[@]}"
      if [ "$round" = 1 ]; then
        "${bh[@]}" push -q localhost/bench-app:1 "docker-archive:$root/image.tar:bench-app:1" > /dev/null
        printf 'buildah\t%s\n' "$(inspect_archive "$root/image.tar")" >> "$SIZES"
        rm -f "$root/image.tar"
      fi
      ;;
    docker)
      docker_up "$root"
      local d=("$DOCKER" -H "unix://$root/docker.sock")
      "${d[@]}" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$BASE_TAR" bench-base:1 > /dev/null
      local b=(env DOCKER_BUILDKIT=1 "${d[@]}" build --progress plain --network host
               --secret "id=npmrc,src=$W/npmrc" "${PROXY_ARGS[@]}" -f "$W/ctx/Dockerfile.docker"
               -t bench-app:1 "$W/ctx")
      timed docker "$round" cold "$root/data" "${b[@]}"
      timed docker "$round" cached "$root/data" "${b[@]}"
      if [ "$round" = 1 ]; then
        "${d[@]}" save -o "$root/image.tar" bench-app:1
        printf 'docker\t%s\n' "$(inspect_archive "$root/image.tar")" >> "$SIZES"
        rm -f "$root/image.tar"
      fi
      docker_down
      ;;
  esac
  # Storage of finished rounds is not needed any more (disk).
  awk -v w="$root" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf "$root"
}

IFS=, read -r -a TOOL_LIST <<< "$TOOLS"
for t in "${TOOL_LIST[@]}"; do
  case $t in latchkey|buildah|docker) ;; *) echo "realworld.sh: unknown tool \"$t\" (want latchkey, buildah or docker)" >&2; exit 2 ;; esac
done
echo "== $ROUNDS rounds of ${TOOL_LIST[*]} (work dir $W; load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
for round in $(seq 1 "$ROUNDS"); do
  n=${#TOOL_LIST[@]}
  for i in $(seq 0 $((n - 1))); do
    run_tool "${TOOL_LIST[$(((i + round - 1) % n))]}" "$round"
  done
done

python3 - "$RESULTS" "$SIZES" <<'EOP'
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
sizes = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1].split() for l in open(sys.argv[2]) if l.strip()}
tools = [t for t in ("latchkey", "buildah", "docker") if any(r[0] == t for r in rows)]
def med(tool, kind, col):
    v = [float(r[col]) for r in rows if r[0] == tool and r[2] == kind]
    return st.median(v) if v else None
def rng(tool, kind, col):
    v = [float(r[col]) for r in rows if r[0] == tool and r[2] == kind]
    return f"{min(v):.2f}-{max(v):.2f}" if v else "-"
print("\nmedians (range) over rounds; ratio = peer / latchkey")
hdr = f"{'':24}" + "".join(f"{t:>26}" for t in tools)
print(hdr)
for kind, col, label, scale, unit in (
        ("cold", 3, "cold build wall", 1, "s"), ("cold", 4, "cold build CPU", 1, "s"),
        ("cold", 5, "cold peak RSS", 1 / 1024, "MiB"), ("cold", 6, "storage after cold", 1 / 2**20, "MiB"),
        ("cached", 3, "cached rebuild wall", 1, "s"), ("cached", 4, "cached rebuild CPU", 1, "s"),
        ("cached", 6, "storage after cached", 1 / 2**20, "MiB")):
    line = f"{label:24}"
    for t in tools:
        m = med(t, kind, col)
        line += f"{m * scale:>14.2f} {unit:<3}" if m is not None else f"{'-':>18}"
        base = med("latchkey", kind, col)
        line += f"{'' if t == 'latchkey' or not base or m is None else f'x{m / base:.2f}':>8}"
    print(line)
p = med("latchkey", "pruned", 6)
if p is not None:
    print(f"{'latchkey after prune -a':24}{p / 2**20:>14.2f} MiB")
    kept = med("latchkey", "images", 6)
    if kept is not None and "latchkey" in sizes:
        u = int(sizes["latchkey"][0])
        # The goal's figure (bench/README.md): BuildKit's prune --all removes the build cache, not
        # images, so what the tagged images' own blobs take is not counted against it.
        print(f"{'  of which tagged images':24}{kept / 2**20:>14.2f} MiB (their blobs: not prunable)")
        print(f"{'  left by the build':24}{(p - kept) / 2**20:>14.2f} MiB = {100 * (p - kept) / u:.1f} % "
              f"of the image (goal <= 5 %); all of it / image = {100 * p / u:.1f} %")
for t in tools:
    if t in sizes:
        u = int(sizes[t][0])
        print(f"{t}: image uncompressed {u / 2**20:.1f} MiB; canary in image: {sizes[t][1]}; "
              f"storage after cold build / image = {med(t, 'cold', 6) / u:.1f}x")
if any(v[1] != "clean" for v in sizes.values()):
    print("FAIL: the npmrc canary is in an image"); sys.exit(1)
EOP
