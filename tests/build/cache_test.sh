#!/usr/bin/env bash
# `latchkey build` cache (BuildKit semantics, reference §4.4): a rebuild runs nothing; a new
# secret VALUE does not bust the cache (the value is never part of a key), a new secret id or
# target does (that step and the ones after it rerun); --no-cache reruns everything;
# SOURCE_DATE_EPOCH with --no-cache gives the same manifest twice.
source "$(dirname "$0")/lib.sh"
setup_busybox
printf 'value-one' > "$W/s.txt"
ctx=$(new_context ctx)
echo data > "$ctx/data.txt"

# statuses: for each step vertex "#N [stage i/n] TEXT" of the last build, "TEXT<TAB>STATUS"
# with STATUS CACHED, DONE or ERROR.
statuses() {
  python3 - "$ERR" <<'EOP'
import re, sys
names, status = {}, {}
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    m = re.match(r"^#(\d+) \[[^\]]*\d+/\d+\] (.*)$", line)
    if m and m.group(1) not in names:
        names[m.group(1)] = m.group(2); continue
    m = re.match(r"^#(\d+) (CACHED|DONE [0-9.]+s|ERROR.*)$", line)
    if m: status[m.group(1)] = m.group(2).split()[0].rstrip(":")
for n, name in names.items():
    print(f"{name}\t{status.get(n, 'NONE')}")
EOP
}
# expect_steps WHAT STATUS...: the statuses of the non-FROM steps, in order.
expect_steps() {
  local what=$1; shift
  local got
  got=$(statuses | grep -v $'^FROM ' | cut -f2 | tr '\n' ' ' | sed 's/ $//')
  expect_eq "$got" "$*" "$what (steps: $(statuses | grep -v '^FROM ' | cut -f1 | tr '\n' '|'))"
}

write_dockerfile() {  # write_dockerfile SECRET_ID TARGET
  cat > "$ctx/Dockerfile" <<DF
FROM busybox:test
RUN echo step-one-ran > /one
COPY data.txt /data.txt
RUN --mount=type=secret,id=$1,target=$2 echo step-secret-ran && wc -c $2 > /len
RUN echo step-last-ran > /last
DF
}
write_dockerfile s /run/secrets/s
build_ok --secret "id=s,src=$W/s.txt" "$ctx"
expect_steps "first build" DONE DONE DONE DONE
grep -qE '^#[0-9]+ [0-9.]+ step-secret-ran$' "$ERR" || fail "first build: no step output line"

# 1. Rebuild: everything CACHED, no step output, the same image.
build_ok --secret "id=s,src=$W/s.txt" --iidfile "$W/id1" "$ctx"
expect_steps "rebuild" CACHED CACHED CACHED CACHED
build_ok --secret "id=s,src=$W/s.txt" --iidfile "$W/id2" "$ctx"
[[ "$(cat "$W/id1")" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "--iidfile: [$(cat "$W/id1")]"
expect_eq "$(cat "$W/id2")" "$(cat "$W/id1")" "image id of two cached rebuilds"
grep -qE '^#[0-9]+ [0-9.]+ step-.*-ran' "$ERR" && fail "the rebuild ran a step"

# 2. Only the secret's value changes: still cached.
printf 'value-two-longer' > "$W/s.txt"
build_ok --secret "id=s,src=$W/s.txt" "$ctx"
expect_steps "new secret value" CACHED CACHED CACHED CACHED

# 3. The secret id changes: that step and the next rerun.
write_dockerfile t /run/secrets/t
build_ok --secret "id=t,src=$W/s.txt" "$ctx"
expect_steps "new secret id" CACHED CACHED DONE DONE
# ... and the target changes.
write_dockerfile t /run/secrets/other
build_ok --secret "id=t,src=$W/s.txt" "$ctx"
expect_steps "new secret target" CACHED CACHED DONE DONE

# 4. A context file changes: the COPY and everything after it rerun.
echo changed > "$ctx/data.txt"
build_ok --secret "id=t,src=$W/s.txt" "$ctx"
expect_steps "changed context file" CACHED DONE DONE DONE

# ... its mode changes: rerun; only its mtime changes: cached (content-based keys).
chmod 755 "$ctx/data.txt"
build_ok --secret "id=t,src=$W/s.txt" "$ctx"
expect_steps "changed context file mode" CACHED DONE DONE DONE
touch -d '2001-01-01' "$ctx/data.txt"
build_ok --secret "id=t,src=$W/s.txt" "$ctx"
expect_steps "touched context file" CACHED CACHED CACHED CACHED
# A build arg the RUN sees: rerun from that RUN.
build_ok --secret "id=t,src=$W/s.txt" --build-arg HTTP_PROXY=http://127.0.0.1:9 "$ctx"
expect_steps "new proxy build arg (predefined, in every RUN's env)" DONE DONE DONE DONE

# 5. The base image changes under the same tag: everything reruns.
echo changed-base > "$W/rootfs/etc/base-marker"
"$LK" image import --rootfs "$W/rootfs" -t busybox:test > /dev/null
build_ok --secret "id=t,src=$W/s.txt" "$ctx"
expect_steps "new base image" DONE DONE DONE DONE

# --no-cache: everything reruns.
build_ok --secret "id=t,src=$W/s.txt" --no-cache "$ctx"
expect_steps "--no-cache" DONE DONE DONE DONE

# --no-cache-filter: only the named stage reruns.
cat > "$W/multi.Dockerfile" <<'DF'
FROM busybox:test AS first
RUN echo first-ran > /f
FROM busybox:test AS second
COPY --from=first /f /f
RUN echo second-ran > /s
DF
build_ok -f "$W/multi.Dockerfile" "$ctx"
build_ok -f "$W/multi.Dockerfile" --no-cache-filter second "$ctx"
expect_steps "--no-cache-filter second" CACHED DONE DONE
build_ok -f "$W/multi.Dockerfile" --no-cache-filter 0 "$ctx"
expect_steps "--no-cache-filter 0" DONE CACHED CACHED

# 6. Reproducible: SOURCE_DATE_EPOCH=0 and --no-cache twice -> the same manifest digest.
SOURCE_DATE_EPOCH=0 build_ok --secret "id=t,src=$W/s.txt" --no-cache -o "type=oci-layout,dest=$W/r1" "$ctx"
sleep 1.1   # a different wall-clock second for any mtime that escaped the clamp
SOURCE_DATE_EPOCH=0 build_ok --secret "id=t,src=$W/s.txt" --no-cache -o "type=oci-layout,dest=$W/r2" "$ctx"
d1=$(jq -r '.manifests[0].digest' "$W/r1/index.json")
d2=$(jq -r '.manifests[0].digest' "$W/r2/index.json")
[[ "$d1" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "index.json of r1: $(cat "$W/r1/index.json")"
expect_eq "$d2" "$d1" "manifest digest of two SOURCE_DATE_EPOCH=0 builds"
expect_eq "$(oci_config_of "$W/r1" | jq -r .created)" "1970-01-01T00:00:00Z" "config created"
echo "cache: OK"
