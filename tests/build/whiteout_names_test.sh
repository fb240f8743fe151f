#!/usr/bin/env bash
# Issue 11, item 12: names and nodes that would corrupt the image or the host.
#  * A RUN step that creates "/etc/.wh.passwd" or "/bin/.wh..wh..opq" fails (each would delete
#    /etc/passwd or empty /bin for every consumer of the layer), naming the path and the step;
#    nothing is exported.
#  * `-o type=local` of an image whose layer holds device nodes (ADD of a tar with /dev/mem)
#    creates no device node on the host and warns about each one.
source "$(dirname "$0")/lib.sh"
setup_busybox

ctx=$(new_context wh)
printf 'FROM busybox:test\nRUN touch /etc/.wh.passwd\n' > "$ctx/Dockerfile"
build_fails -o "type=local,dest=$W/wh-out" "$ctx"
expect_file_contains "$ERR" 'step 2 (Dockerfile:2): layer: /etc/.wh.passwd: a file name starting with ".wh." is an OCI whiteout and would delete /etc/passwd from the image; rename or remove it' "whiteout file refused"
[ ! -e "$W/wh-out" ] || fail "a refused build exported $W/wh-out"

printf 'FROM busybox:test\nRUN echo ok > /ok\nRUN mkdir -p /bin/.wh..wh..opq\n' > "$ctx/Dockerfile"
build_fails "$ctx"
expect_file_contains "$ERR" 'step 3 (Dockerfile:3): layer: /bin/.wh..wh..opq: a file name starting with ".wh." is an OCI whiteout and would hide everything else in /bin; rename or remove it' "opaque marker refused"

# A tar with a world-writable /dev/mem (1,1), a block device and a fifo, ADDed (auto-extracted).
dev=$(new_context dev)
python3 - "$dev/devs.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, kind, major, minor in [("dev", tarfile.DIRTYPE, 0, 0),
                                     ("dev/mem", tarfile.CHRTYPE, 1, 1),
                                     ("dev/sda", tarfile.BLKTYPE, 8, 0),
                                     ("dev/pipe", tarfile.FIFOTYPE, 0, 0)]:
        i = tarfile.TarInfo(name)
        i.type, i.devmajor, i.devminor = kind, major, minor
        i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o666
        t.addfile(i)
PY
printf 'FROM busybox:test\nADD devs.tar /x/\n' > "$dev/Dockerfile"
build_ok -o "type=local,dest=$W/local" -o "type=oci-layout,dest=$W/layout" "$dev"
[ -e "$W/local/x/dev/pipe" ] || fail "the fifo was not exported"
for n in mem sda; do
  [ ! -e "$W/local/x/dev/$n" ] && [ ! -L "$W/local/x/dev/$n" ] || fail "device node /x/dev/$n created on the host"
  expect_file_contains "$ALL_OUTPUT" "warning: device node /x/dev/$n was not exported (the local exporter never creates device nodes)" "warning for /x/dev/$n"
done
[ -z "$(find "$W/local" \( -type c -o -type b \) | head -1)" ] || fail "device nodes in the local export"
# The image itself keeps them (other exporters and runtimes may need them): read the layer
# tars, without unpacking them anywhere.
found=0
for b in "$W/layout"/blobs/sha256/*; do
  if tar -tvzf "$b" 2>/dev/null | grep '^c.* x/dev/mem$' > /dev/null; then found=1; fi
done
[ "$found" = 1 ] || fail "the image lost /x/dev/mem"
echo "whiteout names and device nodes: OK"
