#!/usr/bin/env bash
# `latchkey build` interrupted outside a RUN step, where no container notices the signal and only
# the builder's own cancellation checks can stop it: during a COPY-only tail (hashing, copying or
# committing a big file) and during slow `-o type=oci` and `-o type=local` exports. Each
# interrupted build must exit 128+signal (130 for Ctrl-C, 143 for SIGTERM), tag and export
# nothing, and close its broker session as "cancelled" in the audit log. (interrupt_test.sh
# covers an interrupt during a RUN.)
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)
# Random data: it neither hashes, copies nor compresses in an instant.
dd if=/dev/urandom of="$ctx/big" bs=1M count=384 status=none
printf 'FROM busybox:test\nCOPY big /big\n' > "$ctx/Dockerfile"

# interrupt SIGNAL WHEN FLAGS...: starts a build, waits until stderr shows WHEN (a vertex
# starting), sends SIGNAL, and checks the exit code, the audit log and that nothing was tagged.
interrupt() {
  local sig=$1 when=$2 pid rc waited=0 want
  shift 2
  setsid "$LK" build --progress plain "$@" "$ctx" > "$OUT" 2> "$ERR" &
  pid=$!
  for _ in $(seq 600); do grep -qF -- "$when" "$ERR" 2>/dev/null && break; sleep 0.05; done
  grep -qF -- "$when" "$ERR" || fail "$sig at [$when]: the build never got there"
  kill -0 "$pid" 2>/dev/null || fail "$sig at [$when]: the build ended before the signal"
  sleep 0.2
  case $sig in
    SIGINT) kill -INT -- "-$pid"; want=130 ;;  # the whole process group, like Ctrl-C
    SIGTERM) kill -TERM "$pid"; want=143 ;;
  esac
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    fail "$sig at [$when]: latchkey build still running 30 s after the signal"
  fi
  set +e; wait "$pid"; rc=$?; set -e
  expect_eq "$rc" "$want" "exit code of the build interrupted ($sig) at [$when]"
  expect_eq "$(grep '"event":"session.close"' "$STATE/audit/audit.log" | tail -n 1 |
                 grep -o '"reason":"[a-z]*"')" '"reason":"cancelled"' \
    "the audit's last session.close after $sig at [$when]"
  expect_file_contains "$ERR" "build cancelled" "stderr after $sig at [$when]"
  "$LK" images > "$W/images"
  expect_file_lacks "$W/images" "interrupted" "images after $sig at [$when]"
  echo "$sig at [$when]: exit $rc after $((waited / 10)).$((waited % 10)) s"
}

# 1. During the COPY of a COPY-only tail (no RUN follows, so no container is there to notice).
interrupt SIGINT "COPY big /big" --no-cache -t interrupted:copy
interrupt SIGTERM "COPY big /big" --no-cache -t interrupted:copy
# 2. During the export: every step cached, the OCI archive of a big image being written.
build_ok "$ctx"
interrupt SIGINT "exporting to oci image format" -o "type=oci,dest=$W/img.tar"
[ ! -e "$W/img.tar" ] || fail "the interrupted export left $W/img.tar behind"
leftovers=$(find "$W" -maxdepth 1 -name 'img.tar*')
[ -z "$leftovers" ] || fail "the interrupted export left temporary files: $leftovers"

# 3. During a local export (the layers being unpacked into the directory): the directory the
# export created is removed again.
interrupt SIGTERM "exporting to client directory" -o "type=local,dest=$W/local-out"
[ ! -e "$W/local-out" ] || fail "the interrupted local export left $W/local-out behind"

# The state dir is still usable, and the same builds complete when not interrupted.
build_ok -o "type=oci,dest=$W/img.tar" "$ctx"
[ -s "$W/img.tar" ] || fail "the uninterrupted export wrote no archive"
echo "interrupt_phases: OK"
