#!/usr/bin/env bash
# `kill -9` of `latchkey build` at random points of a build whose RUN step holds a secret (a
# file mount and an env= secret), 30 times. After each kill:
#   - no process of the step survives its builder (runc runs as the init of its own PID
#     namespace with a parent-death signal: executor/runtime_process.h);
#   - only the secret files' tmpfs holds the canary (config.json, with the env= secret, is a
#     FIFO: executor/config_feeder.h);
# and the next start of latchkey that opens the builder state (`latchkey images`) recovers:
#   - nothing is mounted under the state dir (/proc/self/mountinfo), no runc container state
#     and no cgroup of ours is left, secrets/, scratch/, tmp/ and layers/tmp/ are empty,
#   - the canary value is in no file of the state dir,
#   - when the kill left anything, a `recovered` audit record lists it;
# and at the end the audit log verifies and a build on the same state dir still works.
source "$(dirname "$0")/lib.sh"
setup_busybox
B=$STATE/builder
rnd=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
canary="kill-recovery-canary-$rnd"
printf '%s' "$canary" > "$W/s"
ctx=$(new_context ctx)
# Two commands, so the shell stays the step's PID 1 and its command line carries the marker.
printf 'FROM busybox:test\nRUN --mount=type=secret,id=s --mount=type=secret,id=s,env=TOK sleep 1 && echo "kr-%s"\n' \
  "$rnd" > "$ctx/Dockerfile"

mounts_under_state() { awk -v s="$STATE" 'index($5, s) == 1 {print $9 " " $5}' /proc/self/mountinfo; }
leftover_files() {  # work dirs and lock files that should be gone (the roots themselves may stay)
  for d in "$B/secrets" "$B/scratch" "$B/tmp" "$B/layers/tmp"; do
    [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1
  done
  true
}
step_pids() { pgrep -f "kr-$rnd" || true; }
# The steps a kill interrupted (bundle dirs), and the cgroups runc makes for their containers
# (other builds on this machine have their own: only these are ours to check).
step_ids() { { ls "$B/secrets" 2> /dev/null || true; } | sed 's/\.lock$//' | sort -u; }
cgroups_of() { for id in "$@"; do ls -d /sys/fs/cgroup/*/"latchkey-$id" /sys/fs/cgroup/"latchkey-$id" 2> /dev/null; done; true; }
recovered_count() { grep -c '"event":"recovered"' "$STATE/audit/audit.log" || true; }

problems=()
kills_with_leftovers=0
for i in $(seq 30); do
  # Every third kill: 0 to 0.6 s after the start (configuration, session, image, cache). The
  # others: 0 to 1.3 s after the RUN step starts (secret fetch and mounts, the process running
  # with the secret, teardown), whatever the machine's load makes the time before it.
  "$LK" build --progress plain --no-cache --secret "id=s,src=$W/s" "$ctx" > "$OUT" 2> "$ERR" &
  pid=$!
  if [ $((i % 3)) -eq 0 ]; then
    delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", (r % 600) / 1000 }')
  else
    delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", (r % 1300) / 1000 }')
    for _ in $(seq 500); do grep -q 'RUN --mount' "$ERR" 2> /dev/null && break; sleep 0.01; done
  fi
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  # The container died with its builder (give the kernel a moment to reap the namespace).
  for _ in $(seq 200); do [ -z "$(step_pids)" ] && break; sleep 0.05; done
  [ -z "$(step_pids)" ] || problems+=("kill $i (+${delay}s): the step's processes outlived the builder: $(step_pids)")
  # Before recovery the only copies are the secret files on their tmpfs (secrets/<step>/secretN):
  # the env= secret's config.json is a FIFO, never a file (grep -r skips FIFOs).
  early=$(grep -rlF "$canary" "$STATE" 2> /dev/null | grep -v '/secrets/[0-9a-f]*/secret[0-9]*/' || true)
  [ -z "$early" ] || problems+=("kill $i (+${delay}s): before recovery, files outside the secret tmpfs hold the canary: ${early//$'\n'/; }")
  left_before="$(mounts_under_state)$(leftover_files)"
  ids=$(step_ids)
  before=$(recovered_count)

  "$LK" images > /dev/null 2> "$W/recover.err" || problems+=("kill $i: latchkey images failed: $(cat "$W/recover.err")")

  m=$(mounts_under_state)
  f=$(leftover_files)
  # shellcheck disable=SC2086
  c=$(cgroups_of $ids)
  h=$(grep -rlF "$canary" "$STATE" 2> /dev/null || true)
  [ -z "$m" ] || problems+=("kill $i (+${delay}s): still mounted after recovery: ${m//$'\n'/; }")
  [ -z "$f" ] || problems+=("kill $i (+${delay}s): left after recovery: ${f//$'\n'/; }")
  [ -z "$c" ] || problems+=("kill $i (+${delay}s): cgroups left: ${c//$'\n'/; }")
  [ -z "$h" ] || problems+=("kill $i (+${delay}s): files in the state dir hold the canary: ${h//$'\n'/; }")
  if [ -n "$left_before" ]; then
    kills_with_leftovers=$((kills_with_leftovers + 1))
    [ "$(recovered_count)" -gt "$before" ] \
      || problems+=("kill $i (+${delay}s): leftovers were cleaned without a recovered audit record")
  else
    [ "$(recovered_count)" -eq "$before" ] \
      || problems+=("kill $i (+${delay}s): a recovered record although nothing was left")
  fi
  # Clean up by hand whatever a failed recovery left, so the next round starts clean.
  for p in $(step_pids); do kill -9 "$p" 2> /dev/null || true; done
  mounts_under_state | awk '{print $2}' | sort -r | xargs -r umount -l
done
[ ${#problems[@]} -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
[ "$kills_with_leftovers" -gt 0 ] || fail "no kill left anything to recover (the delays missed the step)"
[ "$(recovered_count)" -gt 0 ] || fail "no recovered record in the audit log"
"$LK" audit verify --state-dir "$STATE" --pubkey "$STATE/audit-signing.pub" > "$W/verify.txt" 2>&1 \
  || fail "audit verify after the recoveries: $(cat "$W/verify.txt")"
expect_file_lacks "$STATE/audit/audit.log" "$canary" "audit log"
# Recovery leaves a live build alone: while one build's secret step runs, another build is
# killed in its step, and a third start recovers the dead step; the live build still succeeds.
printf 'FROM busybox:test\nRUN --mount=type=secret,id=s --mount=type=secret,id=s,env=TOK sleep 8 && echo "live-%s"\n' \
  "$rnd" > "$W/live.Dockerfile"
"$LK" build --progress plain --no-cache --secret "id=s,src=$W/s" -f "$W/live.Dockerfile" "$ctx" \
  > "$W/live.out" 2> "$W/live.err" &
live=$!
track_pid "$live"
# Generous bounds: liveness checks on a loaded CI machine, not timing goals.
for _ in $(seq 600); do pgrep -f "live-$rnd" > /dev/null && break; sleep 0.05; done
pgrep -f "live-$rnd" > /dev/null || fail "the live build's step never started"
"$LK" build --progress plain --no-cache --secret "id=s,src=$W/s" "$ctx" > "$OUT" 2> "$ERR" &
victim=$!
for _ in $(seq 600); do [ -n "$(step_pids)" ] && break; sleep 0.05; done
kill -9 "$victim"; wait "$victim" 2> /dev/null || true
before=$(recovered_count)
"$LK" images > /dev/null
[ "$(recovered_count)" -gt "$before" ] || fail "the dead step next to the live build was not recovered"
# That victim was killed while its step ran, so its container is certain to be among what was
# cleaned (the random kills above may all miss the container's lifetime on a loaded machine).
# One grep, not `grep | grep -q`: under pipefail the first grep dies of SIGPIPE when -q stops
# reading early, and the pipeline fails although a record matched.
grep -q '"event":"recovered".*"containers":\["latchkey-' "$STATE/audit/audit.log" \
  || fail "no recovered record names a deleted runc container"
pgrep -f "live-$rnd" > /dev/null || fail "the live build's step ended during the recovery"
[ -n "$(mounts_under_state)" ] || fail "recovery unmounted the live build's step"
set +e; wait "$live"; live_rc=$?; set -e
[ "$live_rc" -eq 0 ] || { cat "$W/live.err" >&2; fail "the live build failed after a recovery ran beside it (exit $live_rc)"; }
grep -q "live-$rnd" "$W/live.err" || fail "the live build's step output is missing"
[ -z "$(mounts_under_state)" ] || fail "left mounted after the live build: $(mounts_under_state)"
# The state dir still builds, and a build is itself a start that recovers.
printf 'FROM busybox:test\nRUN --mount=type=secret,id=s cat /run/secrets/s > /dev/null && echo ok > /ok\n' \
  > "$ctx/Dockerfile"
build_ok --secret "id=s,src=$W/s" -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(cat "$W/out/ok")" "ok" "build after the kills"
echo "kill recovery: OK ($kills_with_leftovers of 30 kills left something to recover)"
