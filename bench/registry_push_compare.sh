#!/usr/bin/env bash
# Side by side: pushing a multi-layer image to an empty local registry (Debian's
# docker-registry on 127.0.0.1, emptied before every push) with `latchkey push` from the local
# store versus `skopeo copy oci:… docker://…` of the same image from an OCI layout, alternated,
# in one run: wall time, CPU (user+sys) and max RSS of each. Both send every blob (nothing is
# in the registry; latchkey's mount hint names a repository the emptied registry no longer
# has, so its mount request becomes the upload session, as a plain POST would).
# Usage: bench/registry_push_compare.sh BUILD_DIR   (root; needs docker-registry, skopeo, runc)
#   LAYERS (default 5) x LAYER_MB (default 40) of incompressible data; RUNS (default 3).
set -euo pipefail
LK="$(cd "${1:-build}" && pwd)/bin/latchkey"
source "$(dirname "$0")/registry_bench_lib.sh"

"$LK" image export bench:1 -o "type=oci-layout,dest=$W/layout"
"$LK" image tag bench:1 "$H/bench:1"
size=$(du -sb "$W/layout/blobs" | cut -f1)
echo "image: $((LAYERS + 1)) layers, $size bytes of blobs"

for r in $(seq 1 "$RUNS"); do
  restart_registry
  measure latchkey "$LK" push -q "$H/bench:1"
  restart_registry
  measure skopeo unshare -m --propagation private sh -c \
    'mount -t tmpfs tmpfs /var/lib && exec skopeo copy -q --dest-tls-verify=false "oci:$1/layout:1" "docker://$0/bench:1"' "$H" "$W"
done
