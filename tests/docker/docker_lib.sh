# Shared by the end-to-end scripts that need Docker Engine (sourced after tests/build/lib.sh):
# one private dockerd per script (Debian's docker.io 20.10: its own data root, exec root, pid
# file and socket under $W; --iptables=false --bridge=none; its own containerd child, in a
# containerd namespace of its own), never the machine's /var/run/docker.sock.
#   start_dockerd            starts it and waits until `docker info` answers (at most 30 s); a
#                            dockerd that does not come up FAILS the script with the tail of its
#                            log (it never skips). Call it once per script.
#   DOCKER_SOCK              $W/docker.sock
#   DOCKER_HOST_URL          unix://$W/docker.sock
#   D                        (/usr/bin/docker -H $DOCKER_HOST_URL): call "${D[@]}" (another
#                            `docker` client may come first on PATH; /usr/bin/docker is 20.10's)
#   docker_base_image NAME:TAG   the busybox rootfs (make_busybox_rootfs) as a Docker image, with
#                            `docker import -c 'CMD ["/bin/sh"]'`
#   DOCKERD_START_SECONDS    how long start_dockerd waited (for reports)
# The script's EXIT trap stops dockerd by its pid (SIGTERM; SIGKILL after 20 s) and then its
# containerd child by the pid dockerd wrote (SIGKILL if it outlives dockerd by 5 s), before
# lib.sh's own clean-up (stop tracked pids, check mounts under $W, remove $W).
# dockerd 20.10 also writes /etc/docker/key.json (its identity).
[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] ||
  fail "dockerd or /usr/bin/docker is not installed (Debian docker.io: make deps)"
DOCKER_SOCK=$W/docker.sock
DOCKER_HOST_URL=unix://$DOCKER_SOCK
D=(/usr/bin/docker -H "$DOCKER_HOST_URL")
# The client's own files stay in the test dir, and the caller's Docker settings stay out.
export DOCKER_CONFIG=$W/docker-config
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
DOCKERD_START_SECONDS=
_dk_pid=
_dk_containerd_pid=

# Seconds (with decimals) since $1, an $EPOCHREALTIME value.
_dk_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

_dk_stop() {
  [ -n "$_dk_pid" ] || return 0
  local pid=$_dk_pid state i t0=$EPOCHREALTIME
  _dk_pid=
  kill -TERM "$pid" 2> /dev/null
  # dockerd stops its containers and its containerd child; a hung one is killed after 20 s.
  for i in $(seq 1 200); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2> /dev/null)
    [ -z "$state" ] || [ "$state" = Z ] && break
    sleep 0.1
  done
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  echo "dockerd (started in ${DOCKERD_START_SECONDS:-?} s) stopped in $(_dk_since "$t0") s" >&2
  # Not our child: poll, and only while the pid is still a containerd.
  pid=$_dk_containerd_pid
  [ -n "$pid" ] || return 0
  for i in $(seq 1 50); do
    [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = containerd ] || return 0
    sleep 0.1
  done
  echo "containerd $pid outlived dockerd by 5 s: killing it" >&2
  kill -KILL "$pid" 2> /dev/null
}

# Runs before lib.sh's _lk_cleanup, which sees the script's exit code.
_dk_exit_trap() {
  local rc=$?
  set +e
  _dk_stop
  (exit "$rc")
  _lk_cleanup
}
trap _dk_exit_trap EXIT

start_dockerd() {
  [ -z "$_dk_pid" ] || fail "start_dockerd: dockerd is already running (start it once per script)"
  local t0=$EPOCHREALTIME ns
  ns=$(basename "$W")
  mkdir -p "$W/docker-root" "$W/docker-exec" "$DOCKER_CONFIG"
  /usr/sbin/dockerd --storage-driver=overlay2 --iptables=false --bridge=none \
    --data-root "$W/docker-root" --exec-root "$W/docker-exec" --pidfile "$W/dockerd.pid" \
    --containerd-namespace "$ns" --containerd-plugins-namespace "$ns-plugins" \
    -H "$DOCKER_HOST_URL" > "$W/dockerd.log" 2>&1 &
  _dk_pid=$!
  until "${D[@]}" info > /dev/null 2>&1; do
    if ! kill -0 "$_dk_pid" 2> /dev/null; then
      wait "$_dk_pid" || true
      _dk_pid=
      fail "dockerd exited before answering; the end of $W/dockerd.log:
$(tail -15 "$W/dockerd.log")"
    fi
    if [ "$(_dk_since "$t0" | cut -d. -f1)" -ge 30 ]; then
      fail "dockerd did not answer \`docker info\` within 30 s; the end of $W/dockerd.log:
$(tail -15 "$W/dockerd.log")"
    fi
    sleep 0.1
  done
  DOCKERD_START_SECONDS=$(_dk_since "$t0")
  # The containerd dockerd started (none when it found a system containerd to use).
  _dk_containerd_pid=$(cat "$W/docker-exec/containerd/containerd.pid" 2> /dev/null || true)
}

# docker_base_image NAME:TAG
docker_base_image() {
  [ -n "$_dk_pid" ] || fail "docker_base_image: call start_dockerd first"
  [ -d "$W/docker-base-rootfs" ] || make_busybox_rootfs "$W/docker-base-rootfs"
  tar -C "$W/docker-base-rootfs" -c . |
    "${D[@]}" import -c 'CMD ["/bin/sh"]' - "$1" > "$W/docker-import.out" 2>&1 ||
    fail "docker import of $1: $(cat "$W/docker-import.out")"
}
