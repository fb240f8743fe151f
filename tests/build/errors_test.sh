#!/usr/bin/env bash
# `latchkey build` failures: the exact texts and exit codes users see, BuildKit style: a failing
# RUN (process error + Dockerfile snippet with the >>> marker), a missing base image, an
# unknown --target, a missing context, and nothing written or tagged by a failed build.
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)

# 1. A failing RUN.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN echo fine
RUN echo "about to fail" && exit 3
RUN echo never
DF
build_fails -t broken:1 -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: process "/bin/sh -c echo \"about to fail\" && exit 3" did not complete successfully: exit code: 3' "failing RUN"
grep -qE '^#[0-9]+ ERROR: process "/bin/sh -c echo \\"about to fail\\" && exit 3" did not complete successfully: exit code: 3$' "$ERR" \
  || fail "no '#N ERROR:' line for the failing step"
grep -qE '^#[0-9]+ [0-9.]+ about to fail$' "$ERR" || fail "the step's output is not in the progress"
grep -q 'never' <(grep -vE '^(#[0-9]+ \[|[ 0-9]+ \|)' "$ERR") && fail "a step after the failure ran"
# BuildKit's error block: the step and its last output lines between rules, then the
# Dockerfile snippet with the failing line marked ">>>", then the summary line.
python3 - "$ERR" <<'EOP' || fail "error block: $(cat "$ERR")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
i = lines.index("Dockerfile:3")
want = [
    "Dockerfile:3",
    "--------------------",
    "   1 |     FROM busybox:test",
    "   2 |     RUN echo fine",
    '   3 | >>> RUN echo "about to fail" && exit 3',
    "   4 |     RUN echo never",
    "--------------------",
    'ERROR: failed to solve: process "/bin/sh -c echo \\"about to fail\\" && exit 3" did not complete successfully: exit code: 3',
]
assert lines[i:] == want, "\n".join(lines[i:])
head = lines[i - 4:i]
assert head[0] == "------" and head[1] == ' > [3/4] RUN echo "about to fail" && exit 3:', head
assert re.fullmatch(r"[0-9.]+ about to fail", head[2]) and head[3] == "------", head
EOP
[ ! -e "$W/out" ] || fail "a failed build wrote its output"
"$LK" image inspect broken:1 > /dev/null 2>&1 && fail "a failed build tagged its image"

# 2. A missing base image whose registry cannot be reached (a closed port on loopback).
DOWN=127.0.0.1:$(free_port)
printf 'FROM %s/nope:1\nRUN true\n' "$DOWN" > "$ctx/Dockerfile"
build_fails "$ctx"
expect_eq "$(last_err_line)" "ERROR: failed to solve: Dockerfile:1: $DOWN/nope:1: failed to resolve source metadata for $DOWN/nope:1: cannot reach registry $DOWN: Connection refused; to build without the registry, put the image in the local store: make a base image: mmdebstrap --variant=minbase bookworm ROOTFS && latchkey image import --rootfs ROOTFS -t $DOWN/nope:1; or import one: latchkey image import --oci-layout DIR[:TAG] -t $DOWN/nope:1 (or --archive FILE for an OCI or docker save archive)" "missing base image, registry down"
expect_file_contains "$ERR" "#3 [internal] load metadata for $DOWN/nope:1" "load metadata vertex"
expect_file_contains "$ERR" "#3 ERROR: $DOWN/nope:1: failed to resolve source metadata for $DOWN/nope:1: cannot reach registry $DOWN: Connection refused;" "load metadata vertex error"

# 3. An unknown --target.
printf 'FROM busybox:test AS one\nRUN true\n' > "$ctx/Dockerfile"
build_fails --target two "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: Dockerfile:1: target stage "two" could not be found' "unknown --target"

# 4. A missing Dockerfile, a missing context, a missing secret source.
build_fails -f "$ctx/Nope.Dockerfile" "$ctx"
expect_eq "$(cat "$ERR")" "error: failed to read dockerfile: open $ctx/Nope.Dockerfile: No such file or directory" "missing Dockerfile"
build_fails "$W/no-such-dir"   # 1, like `latchkey image import` with a missing --rootfs
expect_eq "$(cat "$ERR")" "error: build context $W/no-such-dir is not a directory (pass the directory holding your files, e.g. \`latchkey build .\`)" "missing context"
build_fails --secret "id=a,src=$W/missing" "$ctx"
expect_eq "$(cat "$ERR")" "error: failed to stat $W/missing: stat $W/missing: no such file or directory" "missing --secret src (buildx's text)"

# 5. Bad flag values are refused before anything runs, and are usage errors (exit 2, as
# `latchkey image export -o` and CLI11 parse errors: cli/image_cmd.cc, cli/main.cc). The
# problems are collected so one run reports all of them.
problems=()
printf 'FROM busybox:test\nRUN echo step-ran\n' > "$ctx/Dockerfile"
lk_build -t UPPER:case "$ctx"
! grep -qE '^#[0-9]+ [0-9.]+ step-ran$' "$ERR" || problems+=("an invalid -t is reported only after every step ran")
expect_eq "$(last_err_line)" 'error: invalid argument "UPPER:case" for "-t, --tag" flag: invalid reference format: repository name must be lowercase' "invalid -t (docker build's text)"
[ "$RC" -eq 2 ] || problems+=("invalid -t exit code: got $RC, want 2")
lk_build -o type=zip,dest=x "$ctx"
expect_eq "$(cat "$ERR")" 'error: invalid -o "type=zip,dest=x": unknown type "zip" (want oci, oci-layout, local, image or registry)' "bad -o"
[ "$RC" -eq 2 ] || problems+=("bad -o exit code: got $RC, want 2")
set +e
"$LK" build --progress fancy "$ctx" > /dev/null 2> "$ERR"; RC=$?
set -e
expect_eq "$(cat "$ERR")" 'error: invalid progress mode "fancy": want auto, plain, tty, json or quiet' "bad --progress"
[ "$RC" -eq 2 ] || problems+=("bad --progress exit code: got $RC, want 2")
[ ${#problems[@]} -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"

# 6. A runtime failure says "runc run failed:" once per message (runc's own text starts with it).
printf 'FROM busybox:test\nRUN ["/no/such/binary"]\n' > "$ctx/Dockerfile"
build_fails "$ctx"
expect_eq "$(last_err_line)" 'ERROR: failed to solve: runc run failed: unable to start container process: exec: "/no/such/binary": stat /no/such/binary: no such file or directory' "runc failure"
expect_eq "$(grep -c 'runc run failed: runc run failed' "$ERR")" "0" "runc run failed repeated"

# 7. A 1 MB RUN command is shown cut to 256 bytes with "..." in the progress, the error and the
# Dockerfile snippet, never in full.
python3 -c "print('FROM busybox:test\nRUN echo ' + 'x' * 1000000 + ' >/dev/null; exit 3')" > "$ctx/Dockerfile"
build_fails "$ctx"
x240=$(printf 'x%.0s' $(seq 240)); x247=$(printf 'x%.0s' $(seq 247))
expect_eq "$(last_err_line)" "ERROR: failed to solve: process \"/bin/sh -c echo $x240...\" did not complete successfully: exit code: 1" "1 MB RUN: final error"
expect_file_contains "$ERR" "#4 [2/2] RUN echo $x247..." "1 MB RUN: vertex name"
expect_file_contains "$ERR" "   2 | >>> RUN echo $x247..." "1 MB RUN: snippet"
[ "$(wc -c < "$ERR")" -lt 4000 ] || fail "1 MB RUN: stderr is $(wc -c < "$ERR") bytes"
echo "errors: OK"
