#!/usr/bin/env bash
# Side by side: writing an image to a gzip OCI archive with `latchkey image export -o type=oci`
# (its layers are stored uncompressed: the first export compresses them on every core; a second
# one reuses the cached compressed copies) versus `skopeo copy --dest-compress` of the same image
# from an uncompressed OCI layout to an OCI archive. Also latchkey's gzip level 6 and zstd.
#   IMAGE=real (default when the base exists): the `mmdebstrap --variant=minbase bookworm` base
#     that bench/realworld.sh caches ($LATCHKEY_BENCH_CACHE or ~/.cache/latchkey-bench/
#     bookworm-minbase.tar; `mmdebstrap --variant=minbase bookworm FILE` makes it), as ONE layer
#     (FROM scratch, COPY rootfs/ /): 163 MB of real files.
#   IMAGE=synthetic: one 75 MB random + 75 MB `seq` text layer on busybox.
# Usage: [RUNS=3] [IMAGE=real|synthetic] bench/export_compare.sh BUILD_DIR   (root; needs
# hyperfine, skopeo, busybox-static)
set -euo pipefail
LK="$(cd "${1:-build-release}" && pwd)/bin/latchkey"
CACHE=${LATCHKEY_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey-bench}
BASE_TAR=$CACHE/bookworm-minbase.tar
IMAGE=${IMAGE:-$([ -s "$BASE_TAR" ] && echo real || echo synthetic)}
W=$(mktemp -d /tmp/lk-export-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
printf 'state_dir: %s\n' "$W/state" > "$W/lk.yaml"
export LATCHKEY_CONFIG=$W/lk.yaml
S=$W/state/builder
mkdir -p "$W/ctx"
if [ "$IMAGE" = real ]; then
  [ -s "$BASE_TAR" ] || { echo "export_compare.sh: no $BASE_TAR (run bench/realworld.sh once, or mmdebstrap --variant=minbase bookworm $BASE_TAR)" >&2; exit 2; }
  mkdir "$W/ctx/rootfs"
  tar -xf "$BASE_TAR" -C "$W/ctx/rootfs"
  printf 'FROM scratch\nCOPY rootfs/ /\n' > "$W/ctx/Dockerfile"
else
  R=$W/rootfs
  mkdir -p "$R"/{bin,etc,tmp}
  cp /bin/busybox "$R/bin/busybox"
  chroot "$R" /bin/busybox --install -s /bin
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
  "$LK" image import --rootfs "$R" -t busybox:bench > /dev/null
  printf 'FROM busybox:bench\nRUN head -c 75000000 /dev/urandom > /r && seq 1 20000000 | head -c 75000000 > /t\n' \
    > "$W/ctx/Dockerfile"
fi
"$LK" build --progress quiet -t app:1 "$W/ctx" > /dev/null
"$LK" image export app:1 -o "type=oci-layout,dest=$W/src,compression=uncompressed"
echo "image ($IMAGE): $(du -sm "$W/src/blobs" | cut -f1) MB uncompressed"
skopeo_copy="unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && skopeo copy -q --dest-compress --dest-compress-format gzip oci:$W/src:1 oci-archive:$W/skopeo.tar'"
hyperfine --runs "${RUNS:-3}" -N \
  --prepare "rm -rf $S/images/compressed $W/lk.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk.tar" \
  --prepare "rm -f $W/lk.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk.tar" \
  --prepare "rm -rf $S/images/compressed $W/lk-6.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk-6.tar,compression-level=6" \
  --prepare "rm -rf $S/images/compressed $W/lk-zstd.tar" \
  "$LK image export app:1 -o type=oci,dest=$W/lk-zstd.tar,compression=zstd" \
  --prepare "rm -f $W/skopeo.tar" \
  "$skopeo_copy" \
  --command-name "latchkey export gzip (default level 3, cold: compresses)" \
  --command-name "latchkey export gzip (cached copies)" \
  --command-name "latchkey export gzip level 6 (cold)" \
  --command-name "latchkey export zstd (cold)" \
  --command-name "skopeo copy --dest-compress (gzip)"
ls -l "$W/lk.tar" "$W/lk-6.tar" "$W/lk-zstd.tar" "$W/skopeo.tar" | awk '{print $5, $NF}'
