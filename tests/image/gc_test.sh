#!/usr/bin/env bash
# Garbage collection of the builder's state dir (docs/image-store.md, "Garbage collection"):
#  1. a canary written into a layer is gone from the whole state dir after image rm + prune --all;
#  2. a prune while a build runs waits for it and deletes nothing that build references;
#  3. build, tag, rm, prune in random orders (fixed seed): every remaining image exports
#     (-o type=oci) and passes oci-image-tool validate; a rebuild of a kept cache entry hits;
#  4. builder.gc runs after builds (keep_storage 0 leaves only what images reference);
#  5. the exact texts of bad flags.
source "$(dirname "$0")/../build/lib.sh"
setup_busybox
command -v oci-image-tool > /dev/null || fail "oci-image-tool is needed"

# 1. The canary.
CANARY=gc-canary-$RANDOM$RANDOM-leaked
ctx=$(new_context canary)
printf 'FROM busybox:test\nRUN echo %s > /leak\n' "$CANARY" > "$ctx/Dockerfile"
build_ok -t leak:1 "$ctx"
grep -rqa "$CANARY" "$STATE/builder/layers" || fail "canary not in the unpacked layers at first"
"$LK" image rm leak:1 > /dev/null || fail "image rm"
"$LK" prune --all -f > /dev/null || fail "prune --all"
if grep -rla "$CANARY" "$STATE"; then fail "canary left in the state dir"; fi
for f in "$STATE"/builder/images/blobs/sha256/*; do
  if gzip -dc "$f" 2> /dev/null | grep -a "$CANARY" > /dev/null; then fail "canary in compressed blob $f"; fi
done
"$LK" images | grep busybox > /dev/null || fail "busybox:test lost"

# 2. A build running during a prune.
ctx=$(new_context slow)
printf 'FROM busybox:test\nRUN sleep 3 && echo slow > /slow\n' > "$ctx/Dockerfile"
"$LK" build --progress plain -t slow:1 "$ctx" > "$W/slow.out" 2>&1 &
bpid=$!
track_pid $bpid
sleep 1
"$LK" prune --all -f > "$W/prune.out" 2> "$W/prune.err" || fail "prune during a build"
wait $bpid || fail "the build running during prune failed: $(tail -5 "$W/slow.out")"
grep -q "waiting for the running builds" "$W/prune.err" || fail "prune did not wait for the build"
# image rm during a build untags at once and leaves the sweep to the next prune.
printf 'FROM busybox:test\nRUN sleep 3 && echo slow2 > /slow\n' > "$ctx/Dockerfile"
"$LK" image tag busybox:test gone:1
"$LK" build --progress plain -t slow:2 "$ctx" > "$W/slow2.out" 2>&1 &
bpid=$!
track_pid $bpid
sleep 1
"$LK" image rm gone:1 > "$W/rm.out" 2> "$W/rm.err" || fail "image rm during a build"
expect_eq "$(cat "$W/rm.out")" "Untagged: gone:1" "image rm during a build"
expect_eq "$(cat "$W/rm.err")" "note: a build is using $STATE/builder; the image's storage is freed by the next latchkey prune" "image rm note"
wait $bpid || fail "the build running during image rm failed: $(tail -5 "$W/slow2.out")"
"$LK" image export slow:1 -o type=oci-layout,dest="$W/slow-layout" || fail "export slow:1"
oci-image-tool validate --type image "$W/slow-layout" > /dev/null || fail "slow:1 invalid"

# Without -f, prune asks and does nothing unless told y.
ctx=$(new_context dangling)
printf 'FROM busybox:test\nRUN echo one > /v\n' > "$ctx/Dockerfile"
build_ok -t dang:1 "$ctx"
printf 'FROM busybox:test\nRUN echo two > /v\n' > "$ctx/Dockerfile"
build_ok -t dang:1 "$ctx"   # the first dang:1 is now untagged (dangling)
before=$(find "$STATE/builder" | sort | md5sum)
echo n | "$LK" prune --all > "$W/ask.out" 2> "$W/ask.err" || fail "prune answered n"
expect_eq "$(cat "$W/ask.err")" "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] " "prune prompt"
expect_eq "$(find "$STATE/builder" | sort | md5sum)" "$before" "prune answered n changed the state dir"
echo n | "$LK" image prune > /dev/null 2>&1
expect_eq "$(find "$STATE/builder" | sort | md5sum)" "$before" "image prune answered n changed the state dir"
echo y | "$LK" image prune > "$W/iprune.out" 2> /dev/null || fail "image prune"
expect_eq "$(sed -n 1p "$W/iprune.out")" "Deleted Images:" "image prune header"
expect_eq "$(grep -c '^deleted: sha256:' "$W/iprune.out")" "1" "image prune deletes the one dangling image"
"$LK" image export dang:1 -o type=oci-layout,dest="$W/dang" || fail "export dang:1 after image prune"
oci-image-tool validate --type image "$W/dang" > /dev/null || fail "dang:1 invalid after image prune"

# 3. Random rounds, fixed seed.
RANDOM=42
names=(a b c d)
for round in $(seq 1 12); do
  n=${names[$((RANDOM % 4))]}
  case $((RANDOM % 5)) in
    0|1)
      ctx=$(new_context "r$round")
      printf 'FROM busybox:test\nRUN echo %s > /v\nCOPY f /f\n' "$((RANDOM % 3))" > "$ctx/Dockerfile"
      echo "$((RANDOM % 2))" > "$ctx/f"
      build_ok -t "$n:1" "$ctx" ;;
    2) "$LK" images | grep "^$n " > /dev/null && "$LK" image tag "$n:1" "$n:2" ;;
    3) "$LK" images | grep "^$n " > /dev/null && "$LK" image rm "$n:1" > /dev/null ;;
    4) if [ $((RANDOM % 2)) = 0 ]; then "$LK" prune -f > /dev/null; else "$LK" prune --all -f > /dev/null; fi ;;
  esac
  "$LK" image prune -f > /dev/null || fail "image prune, round $round"
done
i=0
"$LK" images | tail -n +2 | awk '{print $1":"$2}' | while read -r ref; do
  i=$((i + 1))
  "$LK" image export "$ref" -o type=oci,dest="$W/exp-$i.tar" || fail "export $ref"
  mkdir -p "$W/exp-$i" && tar -xf "$W/exp-$i.tar" -C "$W/exp-$i"
  oci-image-tool validate --type image "$W/exp-$i" > /dev/null || fail "$ref does not validate"
done
"$LK" du > /dev/null || fail "du"

# A kept cache entry is still a hit after prune (without --all).
ctx=$(new_context hit)
printf 'FROM busybox:test\nRUN echo keep > /keep\n' > "$ctx/Dockerfile"
build_ok -t hit:1 "$ctx"
"$LK" image rm hit:1 > /dev/null
"$LK" prune -f > /dev/null
build_ok -t hit:1 "$ctx"
grep -q "CACHED" "$ERR" || fail "cache entry not kept by prune"

# 4. builder.gc after builds.
write_config "builder:
  runtime: runc
  gc:
    keep_storage: 0
    keep_duration: 168h"
ctx=$(new_context auto)
printf 'FROM busybox:test\nRUN head -c 300000 /dev/urandom > /r\n' > "$ctx/Dockerfile"
build_ok -t auto:1 "$ctx"
"$LK" du --format json > "$W/du.json"
python3 - "$W/du.json" <<'PY' || fail "builder.gc did not run after the build"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cache"] == [], d["cache"]
PY

# 5. Bad flags.
set +e
"$LK" prune -f --filter until=abc > /dev/null 2> "$W/e1"; rc1=$?
"$LK" prune -f --keep-storage 10XB > /dev/null 2> "$W/e2"; rc2=$?
"$LK" prune -f --filter foo=1 > /dev/null 2> "$W/e3"; rc3=$?
"$LK" du --format yaml > /dev/null 2> "$W/e4"; rc4=$?
set -e
expect_eq "$rc1 $rc2 $rc3 $rc4" "2 2 2 2" "exit codes of bad flags"
expect_eq "$(cat "$W/e1")" "error: \"until\" filter expects a duration (e.g., '24h'): time: invalid duration \"abc\"" "until=abc"
expect_eq "$(cat "$W/e2")" "error: invalid argument \"10XB\" for \"--keep-storage\" flag: invalid size: '10XB'" "10XB"
expect_eq "$(cat "$W/e3")" "error: invalid filter 'foo'" "foo=1"
expect_eq "$(cat "$W/e4")" "error: invalid --format \"yaml\": want table or json" "--format yaml"
echo "PASS gc_test"
