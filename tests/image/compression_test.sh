#!/usr/bin/env bash
# Output compression (docs/image-store.md, "Compressed copies"; docs/builder.md, "Outputs"):
#  1. a built image (its layers stored uncompressed) exported with compression=gzip (default),
#     zstd, a gzip level and force-compression: every layout passes skopeo inspect (and the gzip
#     ones oci-image-tool validate, which predates the +zstd media type), its layers have the asked media type and decompress (gzip -t / zstd -t) to
#     their diff_id, the gzip ones are ONE gzip member; umoci unpacks the gzip one and buildah
#     pulls and mounts the zstd one;
#  2. a second export of the same layers reuses the compressed copies (same blobs, no new entry);
#     skopeo copies the zstd archive;
#  3. `latchkey build -o` with compression keys writes the same media types;
#  4. bad values: the exact messages, exit 2.
source "$(dirname "$0")/../build/lib.sh"
setup_busybox
for t in oci-image-tool skopeo umoci buildah zstd python3; do command -v $t > /dev/null || fail "$t is needed"; done
skopeo_q() { unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && skopeo "$@"' sh "$@"; }
B=$STATE/builder
ctx=$(new_context ctx)
printf 'FROM busybox:test\nRUN head -c 200000 /dev/urandom > /r && seq 1 100000 > /s\n' > "$ctx/Dockerfile"
build_ok -t app:1 "$ctx"
grep -q '"mediaType":"application/vnd.oci.image.layer.v1.tar"' < <("$LK" image inspect app:1 | tr -d ' \n') \
  || fail "the built layer is not stored uncompressed: $("$LK" image inspect app:1)"

# check_layout DIR TAG WANT_TOP_MEDIA_TYPE: validate, inspect, media type and content of the
# top layer (the base's is gzip from the import unless forced).
check_layout() {
  local d=$1 tag=$2 want=$3
  # oci-image-tool 1.0.0-rc1 predates image-spec 1.1's +zstd media type and refuses it: the zstd
  # layouts are checked by skopeo, umoci and zstd -t instead.
  if [[ $want != *+zstd ]]; then
    oci-image-tool validate --type image "$d" > "$W/v.txt" 2>&1 || fail "$d: oci-image-tool validate: $(cat "$W/v.txt")"
  fi
  skopeo_q inspect "oci:$d:$tag" > "$W/inspect.json" 2> "$W/inspect.err" || fail "$d: skopeo inspect: $(cat "$W/inspect.err")"
  python3 - "$d" "$want" <<'EOP' || fail "$d: layer check"
import hashlib, json, subprocess, sys
d, want = sys.argv[1], sys.argv[2]
blob = lambda dg: f"{d}/blobs/{dg.replace(':', '/')}"
idx = json.load(open(f"{d}/index.json"))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
cfg = json.load(open(blob(m["config"]["digest"])))
for i, l in enumerate(m["layers"]):
    mt = l["mediaType"]
    if i == len(m["layers"]) - 1 and mt != want:
        sys.exit(f"top layer media type {mt}, want {want}")
    cmd = {"application/vnd.oci.image.layer.v1.tar+gzip": ["gzip", "-dc"],
           "application/vnd.oci.image.layer.v1.tar+zstd": ["zstd", "-dcq"],
           "application/vnd.oci.image.layer.v1.tar": ["cat"]}[mt]
    raw = subprocess.run(cmd + [blob(l["digest"])], check=True, capture_output=True).stdout
    if "sha256:" + hashlib.sha256(raw).hexdigest() != cfg["rootfs"]["diff_ids"][i]:
        sys.exit(f"layer {i} ({mt}) does not decompress to its diff_id")
    if mt.endswith("+gzip"):
        # One gzip member: a multi-member stream would decompress the same with gzip -dc.
        import zlib
        data = open(blob(l["digest"]), "rb").read()
        z = zlib.decompressobj(31)
        z.decompress(data)
        if z.unused_data:
            sys.exit(f"layer {i}: {len(z.unused_data)} bytes after the first gzip member")
EOP
}

"$LK" image export app:1 -o "type=oci-layout,dest=$W/gz" || fail "export gzip"
check_layout "$W/gz" 1 application/vnd.oci.image.layer.v1.tar+gzip
"$LK" image export app:1 -o "type=oci-layout,dest=$W/zst,compression=zstd" || fail "export zstd"
check_layout "$W/zst" 1 application/vnd.oci.image.layer.v1.tar+zstd
"$LK" image export app:1 -o "type=oci-layout,dest=$W/zst9,compression=zstd,compression-level=9,force-compression=true" \
  || fail "export zstd forced"
check_layout "$W/zst9" 1 application/vnd.oci.image.layer.v1.tar+zstd
python3 - "$W/zst9" <<'EOP' || fail "force-compression left a gzip layer"
import json, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json"))
m = json.load(open(f"{d}/blobs/" + idx["manifests"][0]["digest"].replace(":", "/")))
assert all(l["mediaType"].endswith("+zstd") for l in m["layers"]), m["layers"]
EOP
"$LK" image export app:1 -o "type=oci-layout,dest=$W/gz1,compression-level=1" || fail "export gzip 1"
check_layout "$W/gz1" 1 application/vnd.oci.image.layer.v1.tar+gzip
umoci unpack --image "$W/gz:1" "$W/bundle-gz" > /dev/null 2> "$W/umoci.err" || fail "umoci unpack gzip: $(cat "$W/umoci.err")"
[ "$(wc -l < "$W/bundle-gz/rootfs/s")" = 100000 ] || fail "umoci's gzip rootfs lacks /s"

# 2. The second export reuses the compressed copies.
entries=$(find "$B/images/compressed" -type f | sort)
"$LK" image export app:1 -o "type=oci,dest=$W/zst.tar,compression=zstd" || fail "second zstd export"
expect_eq "$(find "$B/images/compressed" -type f | sort)" "$entries" "compressed-copy entries after a second export"
expect_eq "$(tar -tf "$W/zst.tar" | grep '^blobs/sha256/.' | sort | sed 's|^blobs/sha256/||' | tr '\n' ' ')" \
  "$(ls "$W/zst/blobs/sha256" | sort | tr '\n' ' ')" "the second zstd export's blobs"
skopeo_q copy -q "oci-archive:$W/zst.tar:1" "oci:$W/copied:1" 2> "$W/copy.err" || fail "skopeo copy of the zstd archive: $(cat "$W/copy.err")"

# umoci 0.4.7 predates zstd layers: buildah (containers/image) pulls the zstd archive and
# applies its layers (vfs storage, a throwaway /var/lib), then reads a file of the top one.
bh="buildah --root $W/bh-root --runroot $W/bh-run --storage-driver vfs"
unshare -m --propagation private sh -c "mount -t tmpfs tmpfs /var/lib && $bh pull -q oci-archive:$W/zst.tar > /dev/null && c=\$($bh from -q docker.io/library/app:1) && m=\$($bh mount \$c) && wc -l < \$m/s" \
  > "$W/bh.txt" 2> "$W/bh.err" || fail "buildah pull of the zstd archive: $(cat "$W/bh.err")"
expect_eq "$(cat "$W/bh.txt")" 100000 "buildah's rootfs of the zstd image"

# 3. build -o with the compression keys.
build_ok -o "type=oci-layout,dest=$W/built,compression=zstd,compression-level=5" "$ctx"
expect_file_contains "$ERR" "compressing layers (zstd level 5)" "build progress"
check_layout "$W/built" latest application/vnd.oci.image.layer.v1.tar+zstd

# 4. Bad values.
bad() {  # bad SPEC MESSAGE
  set +e
  "$LK" image export app:1 -o "$1" > /dev/null 2> "$W/bad.err"
  local rc=$?
  set -e
  expect_eq "$rc" 2 "exit code of export -o $1"
  expect_eq "$(cat "$W/bad.err")" "error: invalid -o \"$1\": $2" "export -o $1"
  lk_build -o "$1" "$ctx"
  expect_eq "$RC" 2 "exit code of build -o $1"
  expect_file_contains "$ERR" "invalid -o \"$1\": $2" "build -o $1"
}
bad "type=oci,dest=$W/x.tar,compression=lz4" "unsupported compression type lz4"
bad "type=oci,dest=$W/x.tar,compression-level=fast" "non-int value fast specified for compression-level"
bad "type=oci,dest=$W/x.tar,compression-level=10" "compression-level 10 is out of range for gzip (0..9)"
bad "type=oci,dest=$W/x.tar,compression=zstd,compression-level=22" "compression-level 22 is out of range for zstd (1..19)"
bad "type=oci,dest=$W/x.tar,force-compression=yes" "non-bool value yes specified for force-compression"
bad "type=local,dest=$W/x,compression=gzip" "compression applies to the oci and oci-layout types and to pushed images (push=true) only"
