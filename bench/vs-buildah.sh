#!/usr/bin/env bash
# Side by side, in one run: the cost of one RUN step with a secret mount in `latchkey build`
# and in buildah 1.28 (`buildah build --isolation chroot --storage-driver overlay`), both from
# the same busybox base (buildah reads it with `FROM oci:<layout>` after
# `latchkey image export busybox:bench -o type=oci-layout`); latchkey's no-op rebuild time;
# and the peak memory (max RSS, /usr/bin/time -v) of `latchkey build` for the 10-step file.
#
# Per-step cost = (median time of a 10-step build - median time of a FROM-only build) / 10,
# each build run RUNS times (default 5) after one warm-up. latchkey builds with --no-cache,
# buildah without --layers (its default: no cache). Goals (issue 5): a secret RUN step >= 4x
# cheaper than buildah's; max RSS < 64 MiB.
#
# Usage: bench/vs-buildah.sh [BUILD_DIR]   (root; needs buildah, hyperfine, busybox-static,
# /usr/bin/time). buildah runs in a private mount namespace with /etc, /var and /run behind
# overlayfs (peer-tools-on-this-machine.md §0), so it writes nothing outside the temp dir.
set -euo pipefail
LK="$(cd "${1:-build}" && pwd)/bin/latchkey"
RUNS=${RUNS:-5}
# Lower case only: buildah turns the `FROM oci:<dir>` path into an image name.
W=/tmp/lk-vs-buildah-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
mkdir -m 0700 "$W"
cleanup() {
  awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf "$W"
}
trap cleanup EXIT
for tool in buildah hyperfine /usr/bin/time busybox; do
  command -v "$tool" > /dev/null || { echo "missing $tool (apt-get install buildah hyperfine time busybox-static)" >&2; exit 1; }
done

# latchkey state and the busybox base.
printf 'state_dir: %s\n' "$W/state" > "$W/latchkey.yaml"
export LATCHKEY_CONFIG="$W/latchkey.yaml"
R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp,proc,sys,dev,root,run}
cp /bin/busybox "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
chmod 1777 "$R/tmp"
"$LK" image import --rootfs "$R" -t busybox:bench > /dev/null
"$LK" image export busybox:bench -o "type=oci-layout,dest=$W/bb-oci" > /dev/null
ref=$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"] // "latest"' "$W/bb-oci/index.json")

printf 'bench-secret-value\n' > "$W/secret.txt"
chmod 600 "$W/secret.txt"
mkdir -p "$W/ctx" "$W/tmp"
step='RUN --mount=type=secret,id=mysecret cat /run/secrets/mysecret > /dev/null'
for base in lk:busybox:bench "bh:oci:$W/bb-oci:$ref"; do
  tag=${base%%:*}; from=${base#*:}
  echo "FROM $from" > "$W/ctx/$tag.zero"
  { echo "FROM $from"; for _ in $(seq 10); do echo "$step"; done; } > "$W/ctx/$tag.sec10"
done

# buildah's confinement wrapper (§0 of the peer-tools notes).
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
export CONFINE_STATE=$W/confine TMPDIR=$W/tmp
BH="$W/confine.sh buildah --root $W/bs/root --runroot $W/bs/run --storage-driver overlay build --isolation chroot -q --secret id=mysecret,src=$W/secret.txt"
LKB="$LK build --progress quiet --no-cache --secret id=mysecret,src=$W/secret.txt"

# Sanity: each tool builds both files once (and the latchkey cache is warm for the no-op case).
$BH -f "$W/ctx/bh.sec10" -t localhost/b:sec10 "$W/ctx" > /dev/null
$LK build --progress quiet --secret "id=mysecret,src=$W/secret.txt" -f "$W/ctx/lk.sec10" -t b:sec10 "$W/ctx"

hyperfine --warmup 1 --runs "$RUNS" --export-json "$W/times.json" --style basic \
  -n latchkey-zero "$LKB -f $W/ctx/lk.zero -t b:zero $W/ctx" \
  -n latchkey-sec10 "$LKB -f $W/ctx/lk.sec10 -t b:sec10 $W/ctx" \
  -n latchkey-noop-rebuild "$LK build --progress quiet --secret id=mysecret,src=$W/secret.txt -f $W/ctx/lk.sec10 -t b:sec10 $W/ctx" \
  -n buildah-zero "$BH -f $W/ctx/bh.zero -t localhost/b:zero $W/ctx" \
  -n buildah-sec10 "$BH -f $W/ctx/bh.sec10 -t localhost/b:sec10 $W/ctx" >&2

/usr/bin/time -v $LKB -f "$W/ctx/lk.sec10" -t b:sec10 "$W/ctx" 2> "$W/time.txt" > /dev/null
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")

python3 - "$W/times.json" "$rss_kb" <<'EOP'
import json, statistics as st, sys
r = {x["command"]: x["times"] for x in json.load(open(sys.argv[1]))["results"]}
med = {k: st.median(v) for k, v in r.items()}
lk = (med["latchkey-sec10"] - med["latchkey-zero"]) / 10
bh = (med["buildah-sec10"] - med["buildah-zero"]) / 10
rss = int(sys.argv[2]) / 1024
n = len(r["latchkey-zero"])
print(f"medians of {n} runs (s): " + ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
print(f"per secret RUN step: latchkey {lk*1000:.0f} ms, buildah {bh*1000:.0f} ms, "
      f"ratio buildah/latchkey {bh/lk:.2f}x (goal >= 4x: {'met' if bh/lk >= 4 else 'NOT met'})")
print(f"latchkey no-op rebuild (10 cached steps): {med['latchkey-noop-rebuild']*1000:.0f} ms")
print(f"latchkey build max RSS (10 secret steps, --no-cache): {rss:.1f} MiB "
      f"(goal < 64 MiB: {'met' if rss < 64 else 'NOT met'})")
EOP
