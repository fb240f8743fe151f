#!/usr/bin/env bash
# End-to-end: images in and out. Exports carry BuildKit's names (io.containerd.image.name and
# org.opencontainers.image.ref.name); buildah pulls the archive under that name; skopeo copies them to an OCI layout and to a `docker save`
# archive; `latchkey image import` reads back an OCI layout (DIR[:TAG]), an OCI archive and the
# docker save archive with the same image ID; `image tag`; references normalised as Docker does;
# the exact messages of the failures.
set -euo pipefail
LK="${LATCHKEY_BUILD_DIR:?}/bin/latchkey"
W=$(mktemp -d /tmp/lk-image-io.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
# skopeo writes a blob-info cache under /var/lib: give it a throwaway one.
skopeo_q() { unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && skopeo "$@"' sh "$@"; }
S=$W/state

R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp}
cp /bin/busybox "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
id=$(SOURCE_DATE_EPOCH=1700000000 "$LK" image import --rootfs "$R" -t docker.io/library/app:dev --state-dir "$S")

# 1. Docker's normalisation: the store knows it as app:dev.
expect_eq "$("$LK" images --state-dir "$S" | sed -n 2p | awk '{print $1, $2}')" "app dev" "normalised name"
"$LK" image inspect index.docker.io/library/app:dev --state-dir "$S" | grep '"ref": "app:dev"' > /dev/null \
  || fail "inspect by the long name"

# 2. image tag SRC DST.
"$LK" image tag app:dev team/app --state-dir "$S"
expect_eq "$("$LK" images --state-dir "$S" | awk 'NR>1 {print $1, $2, $3}' | tr '\n' ';')" \
  "app dev ${id:7:12};team/app latest ${id:7:12};" "image tag"

# 3. The OCI archive names the image as BuildKit does.
"$LK" image export app:dev -o type=oci,dest="$W/app.tar" --state-dir "$S"
tar -xOf "$W/app.tar" index.json > "$W/index.json"
grep -q '"annotations":{"io.containerd.image.name":"docker.io/library/app:dev","org.opencontainers.image.ref.name":"dev"}' \
  "$W/index.json" || fail "archive index.json: $(cat "$W/index.json")"
"$LK" image export app:dev -o type=oci-layout,dest="$W/named",name=registry.example.com:5000/x/app:v3 --state-dir "$S"
grep -q '"io.containerd.image.name":"registry.example.com:5000/x/app:v3","org.opencontainers.image.ref.name":"v3"' \
  "$W/named/index.json" || fail "name= layout: $(cat "$W/named/index.json")"

# 4. skopeo sees the name: it copies oci-archive:FILE:dev to a layout and to a docker save archive.
skopeo_q copy -q "oci-archive:$W/app.tar:dev" "oci:$W/copied:dev"
grep -q '"org.opencontainers.image.ref.name":"dev"' "$W/copied/index.json" \
  || fail "skopeo's layout: $(cat "$W/copied/index.json")"
skopeo_q copy -q "oci-archive:$W/app.tar:dev" "docker-archive:$W/save.tar:docker.io/library/app:dev"
tar -xOf "$W/save.tar" manifest.json | grep '"RepoTags":\["docker.io/library/app:dev"\]' > /dev/null || fail "docker save RepoTags"
# buildah (containers/image) names an OCI archive by its io.containerd.image.name annotation.
if command -v buildah >/dev/null; then
  bh="buildah --root $W/bh-root --runroot $W/bh-run --storage-driver vfs"
  unshare -m --propagation private sh -c "mount -t tmpfs tmpfs /var/lib && $bh pull -q oci-archive:$W/app.tar >/dev/null && $bh images --format '{{.Name}}:{{.Tag}}'" > "$W/bh.txt"
  expect_eq "$(cat "$W/bh.txt")" "docker.io/library/app:dev" "buildah sees the name"
fi
if command -v umoci >/dev/null; then
  umoci unpack --image "$W/copied:dev" "$W/bundle" >/dev/null
  cmp -s "$W/bundle/rootfs/bin/busybox" /bin/busybox || fail "umoci unpack of the copy"
fi

# 5. Importing them back gives the same image ID; names come from the source unless -t is given.
expect_eq "$("$LK" image import --oci-layout "$W/copied:dev" -t from-layout:1 --state-dir "$W/s2")" "$id" "layout import"
expect_eq "$("$LK" image import --archive "$W/app.tar" --state-dir "$W/s2")" "$id" "OCI archive import"
expect_eq "$("$LK" image import --archive "$W/save.tar" --state-dir "$W/s3")" "$id" "docker save import"
expect_eq "$("$LK" images --state-dir "$W/s2" | awk 'NR>1 {print $1 ":" $2}' | tr '\n' ' ')" "app:dev from-layout:1 " "imported names"
expect_eq "$("$LK" images --state-dir "$W/s3" | awk 'NR>1 {print $1 ":" $2}')" "app:dev" "docker save name"
# ... and its (uncompressed) layers unpack.
"$LK" image export app:dev -o type=local,dest="$W/flat" --state-dir "$W/s3"
cmp -s "$W/flat/bin/busybox" /bin/busybox || fail "docker save import: rootfs export"

# 6. Failures, exact messages.
err() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }
err "$LK" image import --rootfs "$W/copied" -t a:1 --state-dir "$S"
expect_eq "$rc:$out" "1:error: import: $W/copied is an OCI image layout, not a root filesystem; use --oci-layout $W/copied" "layout as --rootfs"
err "$LK" image import --oci-layout "$W/copied:v9" --state-dir "$S"
expect_eq "$rc:$out" "1:error: OCI layout $W/copied has no image \"v9\" (it has: dev)" "layout tag"
err "$LK" image import --oci-layout "$W/copied" --state-dir "$S"
expect_eq "$rc:$out" "1:error: import: $W/copied does not name the image (no io.containerd.image.name annotation); name it with -t NAME[:TAG]" "unnamed layout"
err "$LK" image import --archive "$W/index.json" -t a:1 --state-dir "$S"
[ "$rc" = 1 ] && [[ "$out" == "error: archive $W/index.json: not a tar archive: "* ]] || fail "not a tar: $rc $out"
err "$LK" image import --rootfs "$R" --oci-layout "$W/copied" -t a:1 --state-dir "$S"
expect_eq "$rc:$out" "2:error: import: give exactly one of --rootfs, --oci-layout or --archive" "two sources"
err "$LK" image tag app:dev Team/App --state-dir "$S"
expect_eq "$rc:$out" '2:error: Error parsing reference: "Team/App" is not a valid repository/tag: invalid reference format: repository name must be lowercase' "tag uppercase"
err "$LK" image tag nope:1 x:1 --state-dir "$S"
expect_eq "$rc:$out" "1:error: No such image: nope:1" "tag of a missing image"
err "$LK" image tag app:dev "x@sha256:$(printf '%064d' 0)" --state-dir "$S"
expect_eq "$rc:$out" "2:error: refusing to create a tag with a digest reference" "tag with a digest"
"$LK" image tag "${id:7:12}" by-id:1 --state-dir "$S"
expect_eq "$("$LK" images --state-dir "$S" | awk '$1 == "by-id" {print $2, $3}')" "1 ${id:7:12}" "tag by short image ID"
err "$LK" image export app:dev -o type=oci,dest=x,name=App --state-dir "$S"
expect_eq "$rc:$out" '2:error: invalid -o "type=oci,dest=x,name=App": "App" is not a valid repository/tag: invalid reference format: repository name must be lowercase' "bad name="
echo "image import/export e2e: OK"
