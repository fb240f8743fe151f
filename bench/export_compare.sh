#!/usr/bin/env bash
# Side by side: writing a ~150 MB image (one 75 MB random + 75 MB text layer on busybox) to a
# gzip OCI archive with `latchkey image export -o type=oci` (its layers are stored uncompressed:
# the first export compresses them on every core; a second one reuses the cached compressed
# copies) versus `skopeo copy --dest-compress` of the same image from an uncompressed OCI layout
# to an OCI archive (skopeo compresses on one stream). Also latchkey's zstd output.
# Usage: bench/export_compare.sh BUILD_DIR   (root; needs hyperfine, skopeo, busybox-static)
set -euo pipefail
LK="$(cd "${1:-build-release}" && pwd)/bin/latchkey"
W=$(mktemp -d /tmp/lk-export-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
printf 'state_dir: %s\n' "$W/state" > "$W/lk.yaml"
export LATCHKEY_CONFIG=$W/lk.yaml
S=$W/state/builder
R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp}
cp /bin/busybox "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
"$LK" image import --rootfs "$R" -t busybox:bench > /dev/null
mkdir -p "$W/ctx"
printf 'FROM busybox:bench\nRUN head -c 75000000 /dev/urandom > /r && seq 1 20000000 | head -c 75000000 > /t\n' \
  > "$W/ctx/Dockerfile"
"$LK" build --progress quiet -t app:1 "$W/ctx" > /dev/null
"$LK" image export app:1 -o "type=oci-layout,dest=$W/src,compression=uncompressed"
echo "image: $(du -sm "$W/src/blobs" | cut -f1) MB uncompressed"
skopeo_copy="unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && skopeo copy -q --dest-compress --dest-compress-format gzip oci:$W/src:1 oci-archive:$W/skopeo.tar'"
hyperfine --runs "${RUNS:-3}" -N \
  --prepare "rm -rf $S/images/compressed $W/lk.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk.tar" \
  --prepare "rm -f $W/lk.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk.tar" \
  --prepare "rm -rf $S/images/compressed $W/lk-zstd.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk-zstd.tar,compression=zstd" \
  --prepare "rm -f $W/skopeo.tar" \
  "$skopeo_copy" \
  --command-name "latchkey export gzip (cold: compresses)" \
  --command-name "latchkey export gzip (cached copies)" \
  --command-name "latchkey export zstd (cold)" \
  --command-name "skopeo copy --dest-compress (gzip)"
ls -l "$W/lk.tar" "$W/lk-zstd.tar" "$W/skopeo.tar" | awk '{print $5, $NF}'
