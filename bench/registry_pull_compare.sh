#!/usr/bin/env bash
# Side by side: pulling a multi-layer image from a local registry (Debian's docker-registry on
# 127.0.0.1) with `latchkey pull` into an empty store versus `skopeo copy docker://… oci:…`,
# alternated, in one run: wall time, CPU (user+sys) and max RSS of each.
# Usage: bench/registry_pull_compare.sh BUILD_DIR   (root; needs docker-registry, skopeo, runc)
#   LAYERS (default 5) x LAYER_MB (default 40) of incompressible data; RUNS (default 3).
set -euo pipefail
LK="$(cd "${1:-build}" && pwd)/bin/latchkey"
source "$(dirname "$0")/registry_bench_lib.sh"

"$LK" image export bench:1 -o "type=oci,dest=$W/bench.tar"
skopeo_ copy -q --dest-tls-verify=false "oci-archive:$W/bench.tar" "docker://$H/bench:1"
size=$(du -sb "$W/bench.tar" | cut -f1)
echo "image: $((LAYERS + 1)) layers, $size bytes (OCI archive)"

for r in $(seq 1 "$RUNS"); do
  rm -rf "$W/state" "$W/sk"
  echo "state_dir: $W/state" > "$LATCHKEY_CONFIG"
  measure latchkey "$LK" pull -q "$H/bench:1"
  sync
  measure skopeo unshare -m --propagation private sh -c \
    'mount -t tmpfs tmpfs /var/lib && exec skopeo copy -q --src-tls-verify=false "docker://$0/bench:1" "oci:$1/sk:1"' "$H" "$W"
  sync
done
