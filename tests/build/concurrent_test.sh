#!/usr/bin/env bash
# `latchkey build`: concurrent builds over one state directory (docs/builder.md: "concurrent
# builds over the same state directory are safe"): four builds at once, sharing the base image,
# identical and different steps, all succeed with the right content and tags; then the same on
# a brand-new state directory (first use creates the audit keys). The audit log written by the
# concurrent builds must still verify.
source "$(dirname "$0")/lib.sh"
setup_busybox
echo concurrent-secret > "$W/s"

race() {  # race ROUND: four builds at once; prints problems
  local round=$1 i pids=()
  for i in 1 2 3 4; do
    mkdir -p "$W/$round-c$i"
    printf 'FROM busybox:test\nRUN --mount=type=secret,id=s echo %s > /n\nRUN echo common > /common\nCOPY Dockerfile /df\n' \
      "$((i % 2))" > "$W/$round-c$i/Dockerfile"
  done
  for i in 1 2 3 4; do
    "$LK" build --progress plain --secret "id=s,src=$W/s" -t "$round:$i" -o "type=local,dest=$W/$round-o$i" \
      "$W/$round-c$i" > "$W/$round-log$i" 2>&1 &
    pids+=($!)
  done
  for i in 1 2 3 4; do
    if ! wait "${pids[$((i - 1))]}"; then echo "$round build $i failed: $(tail -1 "$W/$round-log$i")"; continue; fi
    [ "$(cat "$W/$round-o$i/n" 2>/dev/null)" = "$((i % 2))" ] || echo "$round build $i: wrong /n"
    cmp -s "$W/$round-o$i/df" "$W/$round-c$i/Dockerfile" || echo "$round build $i: wrong /df"
    "$LK" image inspect "$round:$i" > /dev/null 2>&1 || echo "$round build $i: tag $round:$i missing"
  done
}
# Warm state: the audit keys exist already.
build_ok --secret "id=s,src=$W/s" -f /dev/stdin "$(new_context warm)" <<'DF'
FROM busybox:test
RUN true
DF
race warm > "$W/problems"
# The audit log stays one valid hash chain with several writers.
if ! "$LK" audit verify --state-dir "$STATE" --pubkey "$STATE/audit-signing.pub" > "$W/verify.txt" 2>&1; then
  echo "audit verify after concurrent builds: $(tail -1 "$W/verify.txt")" >> "$W/problems"
fi
# Fresh state: four first builds race to create the audit keys.
write_config_dir=$W/fresh
mkdir -p "$write_config_dir"
printf 'state_dir: %s\n' "$write_config_dir/state" > "$write_config_dir/latchkey.yaml"
LATCHKEY_CONFIG="$write_config_dir/latchkey.yaml" "$LK" image import --rootfs "$W/rootfs" -t busybox:test > /dev/null
LATCHKEY_CONFIG="$write_config_dir/latchkey.yaml" race fresh >> "$W/problems"
[ ! -s "$W/problems" ] || fail "$(cat "$W/problems")"
echo "concurrent: OK"
