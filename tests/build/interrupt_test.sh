#!/usr/bin/env bash
# `latchkey build` interrupted in the middle of a RUN step that mounts a secret -- Ctrl-C (SIGINT
# to the process group, as a terminal sends it) and SIGTERM (to latchkey alone, as `kill` or a CI
# timeout sends it): the build stops (non-zero exit, within seconds), the step's processes are
# gone, nothing stays mounted (the secret's tmpfs least of all), no file in the state dir holds
# the secret, and the broker session is closed in the audit log.
source "$(dirname "$0")/lib.sh"
setup_busybox
rnd=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
value="interrupt-secret-$rnd"
printf '%s' "$value" > "$W/s"
ctx=$(new_context ctx)
# The shell stays the step's PID 1 (two commands), its command line carries the marker.
printf 'FROM busybox:test\nRUN --mount=type=secret,id=s sleep 30 && echo "done-%s"\n' "$rnd" > "$ctx/Dockerfile"

step_pids() { pgrep -f "done-$rnd" || true; }
kill_leftovers() { for p in $(step_pids); do kill -9 "$p" 2>/dev/null || true; done; }

interrupt() {  # interrupt HOW: start a build, wait for the step, signal, check the aftermath.
  local how=$1 pid rc waited=0
  setsid "$LK" build --progress plain --no-cache --secret "id=s,src=$W/s" "$ctx" > "$OUT" 2> "$ERR" &
  pid=$!
  for _ in $(seq 100); do [ -n "$(step_pids)" ] && break; sleep 0.1; done
  [ -n "$(step_pids)" ] || fail "$how: the step never started"
  sleep 0.5
  case $how in
    SIGINT) kill -INT -- "-$pid" ;;   # the whole process group, like Ctrl-C
    SIGTERM) kill -TERM "$pid" ;;
  esac
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
  local before=${#problems[@]}
  if kill -0 "$pid" 2>/dev/null; then
    problems+=("$how: latchkey build still running 10 s after the signal")
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    kill_leftovers
    awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
    echo "$how: still running after 10 s; killed"
    return 0
  fi
  set +e; wait "$pid"; rc=$?; set -e
  sleep 0.5
  local mounts leftover holders
  mounts=$(awk -v w="$W" 'index($2, w) == 1 {print $3 " " $2}' /proc/mounts)
  leftover=$(step_pids)
  holders=$(grep -rlF "$value" "$STATE" 2>/dev/null || true)
  kill_leftovers
  awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  [ "$rc" -ne 0 ] || problems+=("$how: the interrupted build exited 0 (it ran to completion)")
  [ -z "$mounts" ] || problems+=("$how: left mounted: ${mounts//$'\n'/; }")
  [ -z "$leftover" ] || problems+=("$how: the step's processes were still running: $leftover")
  [ -z "$holders" ] || problems+=("$how: files in the state dir held the secret: ${holders//$'\n'/; }")
  echo "$how: exit $rc, after $((waited / 10)).$((waited % 10)) s, $(( ${#problems[@]} - before )) problem(s)"
}
problems=()
interrupt SIGTERM
interrupt SIGINT
[ ${#problems[@]} -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
opens=$(grep -c '"event":"session.open"' "$STATE/audit/audit.log")
closes=$(grep -c '"event":"session.close"' "$STATE/audit/audit.log" || true)
expect_eq "$closes" "$opens" "session.close records for the interrupted builds"
# The state dir is still usable.
printf 'FROM busybox:test\nRUN echo after > /after\n' > "$ctx/Dockerfile"
build_ok -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(cat "$W/out/after")" "after" "build after the interruptions"
echo "interrupt: OK"
