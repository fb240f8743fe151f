# Shared by tests/registry/*_test.sh (sourced after tests/build/lib.sh): Debian's
# docker-registry (distribution 2.8) started on 127.0.0.1 with its own config, storage dir and
# access log, plus the latchkey and skopeo wrappers the registry tests use.
#   start_plain_registry NAME       anonymous, plain HTTP; sets NAME_HOST ("127.0.0.1:PORT")
#   start_tls_registry NAME USER PW htpasswd basic auth behind TLS, with a CA and a server
#                                   certificate made for this run ($W/ca.crt); sets NAME_HOST
#   start_basic_registry NAME USER PW htpasswd basic auth over plain HTTP; sets NAME_HOST
#   start_registry NAME CONFIG      docker-registry serve CONFIG (any YAML the script wrote)
#   wait_registries                 waits until every started registry answers /v2/
#   wait_until WHAT CMD...          retries CMD for up to 10 s, else fails naming WHAT
#   make_test_ca DIR                DIR/ca.{crt,key}: a CA made for this run; DIR/srv.{crt,key}:
#                                   its certificate for 127.0.0.1
#   lk / lk_ok / lk_err             latchkey with output in $PLAIN_OUT/$PLAIN_ERR, rc in RC
#   skopeo_                         skopeo with its blob-info cache in a private tmpfs
# Access logs: $REGLOGS/NAME.log. Servers are stopped by lib.sh's EXIT trap.
command -v docker-registry > /dev/null || fail "docker-registry is not installed (make deps)"
REGLOGS=$W/reglogs
mkdir -p "$REGLOGS"
PLAIN_OUT=$W/cmd.out
PLAIN_ERR=$W/cmd.err
ALL=$W/all-commands.log
_reg_waits=()

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

start_plain_registry() {
  local name=$1 port
  port=$(free_port)
  printf -v "${name}_HOST" '127.0.0.1:%s' "$port"
  cat > "$W/$name.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/$name-data}, delete: {enabled: true}}
http: {addr: "127.0.0.1:$port", secret: plain-test-secret}
Y
  docker-registry serve "$W/$name.yml" > "$REGLOGS/$name.log" 2>&1 &
  track_pid $!
  _reg_waits+=("http 127.0.0.1:$port")
}

start_tls_registry() {
  local name=$1 user=$2 pw=$3 port
  port=$(free_port)
  printf -v "${name}_HOST" '127.0.0.1:%s' "$port"
  [ -f "$W/ca.crt" ] || make_test_ca "$W"
  htpasswd -Bbn "$user" "$pw" > "$W/$name.htpasswd" 2> /dev/null
  cat > "$W/$name.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/$name-data}}
auth: {htpasswd: {realm: basic-realm, path: $W/$name.htpasswd}}
http: {addr: "127.0.0.1:$port", secret: tls-test-secret, tls: {certificate: $W/srv.crt, key: $W/srv.key}}
Y
  docker-registry serve "$W/$name.yml" > "$REGLOGS/$name.log" 2>&1 &
  track_pid $!
  _reg_waits+=("https 127.0.0.1:$port")
}

start_basic_registry() {
  local name=$1 user=$2 pw=$3 port
  port=$(free_port)
  printf -v "${name}_HOST" '127.0.0.1:%s' "$port"
  htpasswd -Bbn "$user" "$pw" > "$W/$name.htpasswd" 2> /dev/null
  cat > "$W/$name.yml" <<Y
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $W/$name-data}}
auth: {htpasswd: {realm: basic-realm, path: $W/$name.htpasswd}}
http: {addr: "127.0.0.1:$port", secret: basic-test-secret}
Y
  docker-registry serve "$W/$name.yml" > "$REGLOGS/$name.log" 2>&1 &
  track_pid $!
  _reg_waits+=("basic 127.0.0.1:$port")
}

wait_registries() {
  local w scheme host i
  for w in "${_reg_waits[@]}"; do
    scheme=${w%% *}
    host=${w#* }
    for i in $(seq 1 100); do
      if [ "$scheme" = http ]; then
        curl -fs "http://$host/v2/" > /dev/null 2>&1 && break
      elif [ "$scheme" = basic ]; then
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$host/v2/" 2> /dev/null)" = 401 ] && break
      else
        curl -s --cacert "$W/ca.crt" -o /dev/null -w '%{http_code}' "https://$host/v2/" 2> /dev/null |
          grep -q 401 && break
      fi
      [ "$i" -eq 100 ] && fail "the registry at $host did not start: $(tail -5 "$REGLOGS"/*.log)"
      sleep 0.1
    done
  done
  _reg_waits=()
}
