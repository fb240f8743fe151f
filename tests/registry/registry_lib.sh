# Shared by the registry end-to-end scripts (source it after tests/build/lib.sh): latchkey
# command wrappers that keep every output in $ALL for the canary search, skopeo in a private
# tmpfs, a per-run CA with a certificate for 127.0.0.1, and Debian's docker-registry started
# once per script (stopped by pid when the script ends).
command -v docker-registry > /dev/null || fail "docker-registry is not installed (make deps)"
REGLOGS=$W/reglogs
mkdir -p "$REGLOGS"
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

# make_test_ca DIR: DIR/ca.{crt,key} (a CA made for this run) and DIR/srv.{crt,key} (its
# certificate for 127.0.0.1).
make_test_ca() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=latchkey test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2> /dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/srv.key" \
    -out "$d/srv.csr" 2> /dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > "$d/san.ext"
  openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/san.ext" -out "$d/srv.crt" 2> /dev/null
}

# start_registry NAME CONFIG: docker-registry serve CONFIG, logging to $REGLOGS/NAME.log.
start_registry() {
  docker-registry serve "$2" > "$REGLOGS/$1.log" 2>&1 &
  track_pid $!
}

# wait_until DESCRIPTION CMD...: retries CMD for up to 10 s.
wait_until() {
  local what=$1; shift
  for i in $(seq 1 100); do
    "$@" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what did not start: $(tail -5 "$REGLOGS"/*.log)"
}
