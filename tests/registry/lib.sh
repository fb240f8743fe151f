# Shared by the tests/registry/*_test.sh scripts (source it after tests/build/lib.sh and
# write_config): latchkey command helpers with exact-message checks, skopeo in a private mount
# namespace, and Debian's docker-registry started on 127.0.0.1 for the rest of the script.
PLAIN_OUT=$W/cmd.out
PLAIN_ERR=$W/cmd.err
ALL=$W/all-commands.log

# Failures show the last latchkey command's output too.
fail() {
  echo "FAIL: $*" >&2
  for f in "$PLAIN_OUT" "$PLAIN_ERR"; do
    [ -s "$f" ] && { echo "--- $(basename "$f") of the last command:" >&2; tail -20 "$f" >&2; }
  done
  exit 1
}
# lk ARGS...: latchkey with stdout/stderr in $PLAIN_OUT/$PLAIN_ERR (appended to $ALL), rc in RC.
lk() {
  set +e
  "$LK" "$@" > "$PLAIN_OUT" 2> "$PLAIN_ERR"
  RC=$?
  set -e
  cat "$PLAIN_OUT" "$PLAIN_ERR" >> "$ALL"
}
lk_ok() { lk "$@"; [ "$RC" -eq 0 ] || fail "latchkey $* exited $RC: $(cat "$PLAIN_ERR")"; }
lk_err() {  # lk_err WANT ARGS...: must exit 1 with exactly "error: WANT" as the last stderr line
  local want=$1; shift
  lk "$@"
  [ "$RC" -eq 1 ] || fail "latchkey $* exited $RC, want 1 (stderr: $(cat "$PLAIN_ERR"))"
  expect_eq "$(tail -n 1 "$PLAIN_ERR")" "error: $want" "latchkey $*"
}
# skopeo writes a blob-info cache under /var/lib/containers: keep it in a private tmpfs.
skopeo_() { unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib && exec skopeo "$@"' sh "$@"; }

# start_registry NAME ADDR [YAML...]: docker-registry (distribution 2.8) on ADDR with its own
# storage in $W/NAME-data, its log in $REGLOGS/NAME.log and each YAML line (e.g. an `auth:` or
# a `tls:` section) added to its config; stopped by pid when the script exits. Sets REG_PID.
start_registry() {
  local name=$1 addr=$2; shift 2
  mkdir -p "$REGLOGS"
  {
    echo "version: 0.1"
    echo "log: {level: info, accesslog: {disabled: false}}"
    echo "storage: {filesystem: {rootdirectory: $W/$name-data}}"
    printf '%s\n' "$@"
  } > "$W/$name.yml"
  docker-registry serve "$W/$name.yml" > "$REGLOGS/$name.log" 2>&1 &
  REG_PID=$!
  track_pid $REG_PID
}
