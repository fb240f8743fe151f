#!/usr/bin/env bash
# `kill -9` of `latchkey build` 50 times (builds still running when killed) at random moments of builds that write layers, tag
# them, fill the build cache and compress an OCI output (so kills land in the layer writer, the
# blob store's commit, the unpacked-layer rename, the cache and index writes and the compressor).
# After each kill the next start of latchkey (`latchkey images`) works; every 25th build and at
# the end, tests/build/store_check.py finds no entry (image index, build cache, compressed-layer
# cache) pointing to a missing or truncated blob and no blob whose content differs from its name.
# Then a build on the same state dir works and its export validates, and so does a prune.
# Crash safety comes from atomic renames and one fsync per blob (docs/image-store.md,
# "Durability"), not from fsyncs of the files inside a layer.
source "$(dirname "$0")/lib.sh"
setup_busybox
B=$STATE/builder
CHECK="$(dirname "$0")/store_check.py"
ctx=$(new_context ctx)
# Two small layers with fresh content each time (--no-cache), ~1 s per build on an idle machine.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN head -c 300000 /dev/urandom > /r && seq 1 40000 > /s
RUN cat /r /s /r > /rs
DF

check_store() {  # check_store WHEN
  python3 "$CHECK" "$B" > "$W/check.txt" 2>&1 || fail "$1: $(cat "$W/check.txt")"
}

# One build unkilled: its duration bounds the random kill moments (whatever the machine's load).
t0=$(date +%s%N)
build_ok --no-cache -t app:warm -o "type=oci,dest=$W/out-0.tar" "$ctx"
span=$(( ($(date +%s%N) - t0) / 1000000 ))  # ms
kills=0
start=$(date +%s)
i=0
# 50 kills (a build that ended first is not one). The machine's load changes while the script
# runs: each build that ends before its kill shortens the window by a fifth, so the kills keep
# landing inside builds however fast they become.
while [ "$kills" -lt 50 ] && [ "$i" -lt 200 ]; do
  i=$((i + 1))
  "$LK" build --progress plain --no-cache -t "app:k$((i % 4))" -o "type=oci,dest=$W/out-$((i % 2)).tar" \
    "$ctx" > "$OUT" 2> "$ERR" &
  pid=$!
  # 0 to 90 % of a build's duration: from configuration loading to the last output write.
  sleep "$(awk -v r="$RANDOM" -v s="$span" 'BEGIN { printf "%.3f", (r % int(s * 0.9 + 1)) / 1000 }')"
  if kill -9 "$pid" 2> /dev/null; then
    kills=$((kills + 1))
  else
    span=$((span * 4 / 5 + 1))
  fi
  wait "$pid" 2> /dev/null || true
  "$LK" images > "$W/images.txt" 2> "$W/images.err" \
    || fail "kill $i: latchkey images after the kill: $(cat "$W/images.err")"
  [ $((i % 25)) -ne 0 ] || check_store "after attempt $i ($kills kills)"
done
[ "$kills" -eq 50 ] || fail "only $kills of $i builds were still running when killed (the delays missed them)"
echo "kill_store: $kills kills in $(( $(date +%s) - start ))s (build: ${span} ms)"
check_store "after the kills"

# The next build works and its outputs are valid.
build_ok --no-cache -t final:1 -o "type=oci-layout,dest=$W/layout" "$ctx"
oci-image-tool validate --type image "$W/layout" > "$W/validate.txt" 2>&1 \
  || fail "oci-image-tool validate: $(cat "$W/validate.txt")"
"$LK" images > "$W/images.txt" || fail "latchkey images after the last build"
grep -q '^final ' "$W/images.txt" || fail "final:1 not listed: $(cat "$W/images.txt")"
check_store "after the last build"
"$LK" prune -f > /dev/null || fail "prune after the kills"
check_store "after prune"
"$LK" image export final:1 -o "type=oci,dest=$W/final.tar" || fail "export after prune"
