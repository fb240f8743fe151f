#!/usr/bin/env bash
# End-to-end: busybox rootfs → `latchkey image import` → export as OCI layout, OCI archive and
# rootfs, each checked with the real tools (oci-image-tool, skopeo, umoci); reproducibility with
# SOURCE_DATE_EPOCH; the exact messages of the user-facing failures.
set -euo pipefail
LK="${LATCHKEY_BUILD_DIR:?}/bin/latchkey"
W=$(mktemp -d /tmp/lk-image-e2e.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }

# 1. A busybox rootfs.
R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp,proc,sys,dev,root,run}
cp /bin/busybox "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
chmod 1777 "$R/tmp"

# 2. Import twice into two stores with SOURCE_DATE_EPOCH: identical image IDs and manifests.
S=$W/state
id1=$(SOURCE_DATE_EPOCH=1700000000 "$LK" image import --rootfs "$R" -t busybox:lab --state-dir "$S")
touch "$R/etc/passwd"   # newer mtime: clamped away by the epoch
id2=$(SOURCE_DATE_EPOCH=1700000000 "$LK" image import --rootfs "$R" -t busybox:lab --state-dir "$W/state2")
expect_eq "$id1" "$id2" "reproducible import"
[[ "$id1" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "import printed [$id1]"
# The imported layer is unpacked into the layer cache at once (a tagged image's layers stay
# unpacked), with the rootfs's content: the first build on it unpacks nothing.
diff_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"][0].split(":")[1])' \
  "$S/images/blobs/sha256/${id1#sha256:}")
expect_eq "$(ls "$S/layers/sha256")" "$diff_id" "unpacked layers after import"
cmp "$S/layers/sha256/$diff_id/bin/busybox" /bin/busybox || fail "unpacked busybox differs"

# 3. `latchkey images`.
out=$("$LK" images --state-dir "$S")
expect_eq "$(echo "$out" | head -1 | tr -s ' ')" "REPOSITORY TAG IMAGE ID CREATED SIZE" "images header"
row=$(echo "$out" | sed -n 2p | tr -s ' ')
expect_eq "$(echo "$row" | cut -d' ' -f1-4)" "busybox lab ${id1:7:12} 2023-11-14T22:13:20Z" "images row"

# 4. OCI layout export, validated by three tools.
"$LK" image export localhost/busybox:lab -o type=oci-layout,dest="$W/layout" --state-dir "$S"
oci-image-tool validate --type image "$W/layout" | grep 'Validation succeeded' > /dev/null \
  || fail "oci-image-tool rejected the layout"
oci-image-tool validate --type image --ref name=lab "$W/layout" >/dev/null
skopeo inspect "oci:$W/layout:lab" > "$W/inspect.json"
grep -q '"Architecture": "amd64"' "$W/inspect.json" || fail "skopeo inspect: $(cat "$W/inspect.json")"
skopeo inspect --config "oci:$W/layout:lab" | grep '"/bin/sh"' > /dev/null || fail "config Cmd missing"
umoci unpack --image "$W/layout:lab" "$W/bundle" >/dev/null
[ -L "$W/bundle/rootfs/bin/sh" ] || fail "umoci bundle lacks bin/sh symlink"
expect_eq "$(readlink "$W/bundle/rootfs/bin/sh")" "/bin/busybox" "bin/sh target"
grep -q '^root:' "$W/bundle/rootfs/etc/passwd" || fail "umoci bundle lacks etc/passwd"
expect_eq "$(stat -c %a "$W/bundle/rootfs/tmp")" "1777" "tmp mode"
chroot "$W/bundle/rootfs" /bin/sh -c 'echo hello from the import' | grep 'hello from the import' > /dev/null

# 5. OCI archive export: byte-identical twice; skopeo reads it (copy under a throwaway /var/lib).
"$LK" image export busybox:lab -o type=oci,dest="$W/a.tar" --state-dir "$S"
"$LK" image export busybox:lab -o type=oci,dest="$W/b.tar" --state-dir "$W/state2"
cmp -s "$W/a.tar" "$W/b.tar" || fail "archives differ"
unshare -m --propagation private sh -c \
  "mount -t tmpfs tmpfs /var/lib && skopeo copy -q oci-archive:$W/a.tar:lab oci:$W/copied:lab"
oci-image-tool validate --type image "$W/copied" | grep 'Validation succeeded' > /dev/null \
  || fail "skopeo's copy of the archive does not validate"

# 6. Rootfs export.
"$LK" image export busybox:lab -o type=local,dest="$W/flat" --state-dir "$S"
cmp -s "$W/flat/bin/busybox" /bin/busybox || fail "flat export lost busybox"
[ -L "$W/flat/bin/ls" ] || fail "flat export lost symlinks"

# 7. Failures, exact messages and exit codes.
set +e
msg=$("$LK" image export nope:1 -o type=oci,dest="$W/x.tar" --state-dir "$S" 2>&1); rc=$?
set -e
expect_eq "$rc" "1" "missing image exit code"
expect_eq "$msg" 'error: image "nope:1" is not in the local store. Pull it: latchkey pull nope:1; or make a base image: mmdebstrap --variant=minbase bookworm ROOTFS && latchkey image import --rootfs ROOTFS -t nope:1; or import one: latchkey image import --oci-layout DIR[:TAG] -t nope:1 (or --archive FILE for an OCI or docker save archive); or build it with -t nope:1' "missing image"
[ ! -e "$W/x.tar" ] || fail "a failed export left a file"
set +e
msg=$("$LK" image export busybox:lab -o type=zip,dest=x --state-dir "$S" 2>&1); rc=$?
set -e
expect_eq "$rc" "2" "bad -o exit code"
expect_eq "$msg" 'error: invalid -o "type=zip,dest=x": unknown type "zip" (want oci, oci-layout or local)' "bad -o"
set +e
msg=$("$LK" image import --rootfs "$W/none" -t a:b --state-dir "$S" 2>&1); rc=$?
set -e
expect_eq "$rc" "1" "missing rootfs exit code"
expect_eq "$msg" "error: import: root filesystem $W/none: No such file or directory" "missing rootfs"
mkdir -p "$W/busy" && echo keep > "$W/busy/mine"
set +e
msg=$("$LK" image export busybox:lab -o type=oci-layout,dest="$W/busy" --state-dir "$S" 2>&1); rc=$?
set -e
expect_eq "$msg" "error: $W/busy exists and is not an OCI image layout (no oci-layout file); choose an empty or new directory" "busy dest"
expect_eq "$(cat "$W/busy/mine")" "keep" "busy dest content"

# 8. Remove a tag.
"$LK" image rm busybox:lab --state-dir "$S"
expect_eq "$("$LK" images --state-dir "$S" | wc -l)" "1" "images after rm"
echo "image e2e: OK"
