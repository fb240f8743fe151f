#!/usr/bin/env bash
# Side by side: importing a busybox rootfs as a single-layer OCI image with
# `latchkey image import` (+ export as an OCI layout) versus umoci (init/new/insert/config/gc).
# Usage: bench/image_import_compare.sh BUILD_DIR   (needs hyperfine, umoci, busybox-static; root)
set -euo pipefail
LK="$(cd "${1:-build}" && pwd)/bin/latchkey"
W=$(mktemp -d /tmp/lk-import-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp}
cp /bin/busybox "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
hyperfine --warmup 2 --runs "${RUNS:-10}" -N \
  --prepare "rm -rf $W/state $W/layout" \
  "$LK image import --rootfs $R -t bb:1 --state-dir $W/state" \
  --prepare "rm -rf $W/state $W/layout" \
  "sh -c '$LK image import --rootfs $R -t bb:1 --state-dir $W/state >/dev/null && $LK image export bb:1 -o type=oci-layout,dest=$W/layout --state-dir $W/state'" \
  --prepare "rm -rf $W/umoci" \
  "sh -c 'umoci init --layout $W/umoci && umoci new --image $W/umoci:latest && umoci insert --image $W/umoci:latest $R / && umoci config --image $W/umoci:latest --config.cmd /bin/sh && umoci gc --layout $W/umoci'"
