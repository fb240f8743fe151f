#!/usr/bin/env bash
# `latchkey build` COPY/ADD from the context, with hostile inputs: .dockerignore with a `!`
# exception, `../` sources cleaned to inside the context, context symlinks pointing at host
# files, a rootfs symlink at the COPY destination, ADD of local archives (one with a `../`
# entry), and the exact errors for a missing source, an excluded source and an ADD URL.
source "$(dirname "$0")/lib.sh"
setup_busybox
rnd=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
host_marker="host-only-$rnd"
echo "$host_marker" > "$W/hostfile"
ctx=$(new_context ctx)
mkdir -p "$ctx/a" "$ctx/etc" "$ctx/sub"
echo keep > "$ctx/a/keep.txt"
echo drop > "$ctx/a/drop.txt"
echo "TOKEN=x" > "$ctx/secret.env"
echo context-passwd > "$ctx/etc/passwd"
echo f > "$ctx/f-$rnd"
echo in-sub > "$ctx/sub/s.txt"
ln -s "$W/hostfile" "$ctx/hostlink"
ln -s /etc/passwd "$ctx/sub/passwdlink"
printf 'a/*\n!a/keep.txt\n*.env\n# a comment\n' > "$ctx/.dockerignore"
mkdir -p "$W/tarsrc/dir" && echo from-tar > "$W/tarsrc/dir/file"
tar -czf "$ctx/arch.tar.gz" -C "$W/tarsrc" dir
python3 - "$ctx/evil.tar" "$rnd" <<'EOP'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("../../../../../../../tmp/lk-evil-" + sys.argv[2], "/tmp/lk-abs-" + sys.argv[2], "ok.txt"):
        data = b"evil\n"
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
EOP
# Symlink-then-file: "link" -> /etc, then "link/passwd-evil-<rnd>".
python3 - "$ctx/symlink.tar" "$rnd" <<'EOP'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("link"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc"; t.addfile(ti)
    ti = tarfile.TarInfo("link/passwd-evil-" + sys.argv[2]); ti.size = 5
    t.addfile(ti, io.BytesIO(b"evil\n"))
EOP

cat > "$ctx/Dockerfile" <<DF
FROM busybox:test
COPY . /ctx/
COPY ../../etc/passwd /cleaned-passwd
RUN ln -s /etc /dst && ln -s ../../../../../.. /up
COPY f-$rnd /dst/
COPY f-$rnd /up/
ADD arch.tar.gz /unpacked/
ADD evil.tar /evil/
DF
build_ok -o "type=local,dest=$W/out" "$ctx"
O=$W/out
# .dockerignore and its exception.
expect_eq "$(cat "$O/ctx/a/keep.txt")" "keep" "!a/keep.txt re-included"
[ ! -e "$O/ctx/a/drop.txt" ] || fail ".dockerignore a/* did not exclude a/drop.txt"
[ ! -e "$O/ctx/secret.env" ] || fail ".dockerignore *.env did not exclude secret.env"
# Symlinks inside a copied dir stay symlinks; the host file is never read.
[ -L "$O/ctx/hostlink" ] || fail "context symlink was not copied as a symlink"
expect_eq "$(readlink "$O/ctx/hostlink")" "$W/hostfile" "copied symlink target"
expect_eq "$(readlink "$O/ctx/sub/passwdlink")" "/etc/passwd" "copied symlink target 2"
# ../ is cleaned to the context root.
expect_eq "$(cat "$O/cleaned-passwd")" "context-passwd" "COPY ../../etc/passwd reads the context's etc/passwd"
# A destination symlink resolves inside the image.
expect_eq "$(cat "$O/etc/f-$rnd")" "f" "COPY through /dst -> /etc"
expect_eq "$(cat "$O/f-$rnd")" "f" "COPY through /up -> ../../.."
[ ! -e "/etc/f-$rnd" ] || { rm -f "/etc/f-$rnd"; fail "COPY wrote the HOST's /etc/f-$rnd"; }
[ ! -e "/f-$rnd" ] || { rm -f "/f-$rnd"; fail "COPY wrote the HOST's /f-$rnd"; }
# ADD of a local archive unpacks it; a hostile archive stays inside.
expect_eq "$(cat "$O/unpacked/dir/file")" "from-tar" "ADD arch.tar.gz"
[ ! -e "$O/unpacked/arch.tar.gz" ] || fail "ADD copied the archive instead of unpacking it"
for p in "/tmp/lk-evil-$rnd" "/tmp/lk-abs-$rnd"; do
  [ ! -e "$p" ] || { rm -f "$p"; fail "ADD evil.tar wrote the host's $p"; }
done
expect_eq "$(cat "$O/evil/ok.txt")" "evil" "ADD evil.tar: the harmless entry"
expect_eq "$(cat "$O/evil/tmp/lk-evil-$rnd")" "evil" "ADD evil.tar: ../ entry cleaned to inside the destination"
expect_eq "$(cat "$O/evil/tmp/lk-abs-$rnd")" "evil" "ADD evil.tar: absolute entry under the destination"
grep -rqF "$host_marker" "$O" && fail "a host file's content reached the image"

# ADD of a symlink-then-file archive: refused or kept inside the image, never the host's /etc.
printf 'FROM busybox:test\nADD symlink.tar /sl/\n' > "$ctx/Dockerfile"
lk_build -o "type=local,dest=$W/sl" "$ctx"
[ ! -e "/etc/passwd-evil-$rnd" ] || { rm -f "/etc/passwd-evil-$rnd"; fail "ADD symlink.tar wrote the HOST's /etc"; }
echo "ADD symlink-then-file archive: rc=$RC: $(last_err_line)"

# A top-level source symlink is followed inside the context: the host file is not found.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
COPY hostlink /h
DF
build_fails "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: "hostlink": not found in build context' "symlink to a host file"
expect_file_lacks "$ERR" "$host_marker" "stderr"

# Missing and excluded sources.
printf 'FROM busybox:test\nCOPY nope.txt /\n' > "$ctx/Dockerfile"
build_fails "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: "nope.txt": not found in build context' "missing source"
grep -q '^Dockerfile:2$' "$ERR" || fail "no Dockerfile:2 snippet for the missing source"
printf 'FROM busybox:test\nCOPY secret.env /\n' > "$ctx/Dockerfile"
build_fails "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: "secret.env": excluded by .dockerignore in build context' "excluded source"
printf 'FROM busybox:test\nCOPY a/*.txt /x/\n' > "$ctx/Dockerfile"
build_ok -o "type=local,dest=$W/glob" "$ctx"
{ [ -f "$W/glob/x/keep.txt" ] && [ ! -e "$W/glob/x/drop.txt" ]; } || fail "COPY a/*.txt with .dockerignore"

# ADD URL.
printf 'FROM busybox:test\nADD https://example.com/x.tar.gz /x/\n' > "$ctx/Dockerfile"
build_fails "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: ADD https://example.com/x.tar.gz: remote sources are not supported yet (latchkey builds offline); download it into the context and COPY it' "ADD URL"
echo "copy: OK"
