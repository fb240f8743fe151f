#!/usr/bin/env bash
# `latchkey build` flags beyond the basics: --build-context (a directory and an oci-layout
# image), --network none, --label, --build-arg (and its history text), --ssh, -o name=,
# --progress json and quiet.
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)

# 1. Named contexts: a directory for COPY --from, an OCI layout for FROM.
mkdir -p "$W/extra" && echo from-extra > "$W/extra/e.txt"
"$LK" image export busybox:test -o "type=oci-layout,dest=$W/base-layout" > /dev/null
cat > "$ctx/Dockerfile" <<'DF'
FROM base
ARG GREETING=hi
COPY --from=extra e.txt /e.txt
RUN --mount=from=extra,target=/mnt/extra cat /mnt/extra/e.txt > /copied-by-run.txt
RUN echo "$GREETING" > /greeting.txt
DF
build_ok --build-context "extra=$W/extra" --build-context "base=oci-layout://$W/base-layout:test" \
  --build-arg GREETING=hello --label org.example.team=core \
  -o "type=oci-layout,dest=$W/layout,name=named:v1" -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(cat "$W/out/e.txt")" "from-extra" "COPY --from=<named dir context>"
expect_eq "$(cat "$W/out/copied-by-run.txt")" "from-extra" "RUN --mount=from=<named dir context>"
expect_eq "$(cat "$W/out/greeting.txt")" "hello" "--build-arg"
[ -x "$W/out/bin/busybox" ] || fail "FROM <oci-layout context> lost the base files"
expect_eq "$(jq -r '.manifests[0].annotations | .["io.containerd.image.name"] + " " + .["org.opencontainers.image.ref.name"]' "$W/layout/index.json")" \
  "docker.io/library/named:v1 v1" "-o name= (BuildKit's annotations)"
oci_config_of "$W/layout" > "$W/config.json"
expect_eq "$(jq -r '.config.Labels["org.example.team"]' "$W/config.json")" "core" "--label"
jq -r '.history[].created_by' "$W/config.json" > "$W/history.txt"
grep -qxF 'RUN |1 GREETING=hello /bin/sh -c echo "$GREETING" > /greeting.txt # buildkit' "$W/history.txt" \
  || fail "build-arg history text: $(cat "$W/history.txt")"

# 2. --network none: no interface but loopback; the default has the host's interfaces.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN ls /sys/class/net | tr '\n' ' ' > /ifaces.txt
DF
build_ok --network none --no-cache -o "type=local,dest=$W/none" "$ctx"
expect_eq "$(cat "$W/none/ifaces.txt")" "lo " "--network none interfaces"
build_ok --no-cache -o "type=local,dest=$W/host" "$ctx"
expect_eq "$(cat "$W/host/ifaces.txt")" "$(ls /sys/class/net | tr '\n' ' ')" "default network interfaces"

# 3. --ssh: the agent socket is mounted at $SSH_AUTH_SOCK for the step only.
eval "$(ssh-agent -a "$W/agent.sock" -s)" > /dev/null
track_pid "$SSH_AGENT_PID"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock-path.txt
RUN test -z "$SSH_AUTH_SOCK"
DF
build_ok --ssh "default=$W/agent.sock" -o "type=local,dest=$W/ssh" "$ctx"
expect_eq "$(cat "$W/ssh/sock-path.txt")" "/run/buildkit/ssh_agent.0" "SSH_AUTH_SOCK (BuildKit's default path)"
[ ! -e "$W/ssh/run/buildkit" ] || fail "ssh mount stub left in the image"
# The step's use of the agent is on the audit record (ssh.forward, before the step ran), and the
# log still verifies.
jq -e -s --arg sock "$W/agent.sock" '[.[] | select(.event == "ssh.forward")] | length == 1 and
    (.[0] | .ssh == "default" and .outcome == "granted" and .agent == $sock and
      .required == false and .step.line == 2 and
      (.step.instruction | startswith("RUN --mount=type=ssh test -S")) and
      (.requester | startswith("uid=")) and (has("error") | not))' \
  "$STATE/audit/audit.log" > /dev/null \
  || fail "ssh.forward record: $(grep ssh.forward "$STATE/audit/audit.log")"
"$LK" audit verify --state-dir "$STATE" --pubkey "$STATE/audit-signing.pub" > "$W/verify.txt" 2>&1 \
  || fail "audit verify after an ssh build: $(cat "$W/verify.txt")"
"$LK" audit search --state-dir "$STATE" --secret ssh:default > "$W/search.txt" \
  || fail "audit search --secret ssh:default failed"
grep -q ' ssh.forward  granted ' "$W/search.txt" || fail "audit search ssh: $(cat "$W/search.txt")"
# A required agent that is not there is recorded as not_found (the step fails).
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=ssh,id=deploy,required=true true
DF
build_fails --ssh "default=$W/agent.sock" "$ctx"
expect_file_contains "$ERR" 'ERROR: failed to solve: no SSH key "deploy" forwarded from the client' "required ssh id missing"
jq -e -s '[.[] | select(.event == "ssh.forward" and .ssh == "deploy")] | length == 1 and
    (.[0] | .outcome == "not_found" and .required == true and .agent == "" and
      .error == "unset ssh forward key deploy")' "$STATE/audit/audit.log" > /dev/null \
  || fail "not_found ssh.forward record: $(grep '"ssh":"deploy"' "$STATE/audit/audit.log")"
# The step talks to the agent: `ssh-add -l` (this host's, with its libraries) lists its key.
fp=$(ssh_agent_with_key keyed)
ssh_add_tool "$ctx/tool"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=ssh --mount=type=bind,target=/t,source=tool /t/ld.so --library-path /t /t/ssh-add -l
DF
build_ok --no-cache --ssh "default=$W/keyed.sock" "$ctx"
expect_file_contains "$ERR" "$fp" "the agent's key listed by the step"
rm -rf "$ctx/tool"

# 4. --progress json: one JSON object per line; quiet: nothing on success.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN echo json-line
DF
set +e
"$LK" build --progress json --no-cache "$ctx" > "$OUT" 2> "$ERR"; RC=$?
set -e
[ "$RC" -eq 0 ] || fail "--progress json build exited $RC"
grep -v '^{' "$ERR" | grep -v ' info broker: ' | grep . > /dev/null && fail "non-JSON lines in --progress json output: $(grep -v '^{' "$ERR")"
grep '^{' "$ERR" | jq -e -s 'map(select(.event == "log" and (.data | contains("json-line")))) | length == 1' > /dev/null \
  || fail "--progress json lacks the step's log event: $(cat "$ERR")"
grep '^{' "$ERR" | jq -e -s 'map(select(.event == "start" and .name == "[2/2] RUN echo json-line")) | length == 1' > /dev/null \
  || fail "--progress json lacks the step's start event"
set +e
"$LK" build --progress quiet "$ctx" > "$OUT" 2> "$ERR"; RC=$?
set -e
[ "$RC" -eq 0 ] || fail "--progress quiet build exited $RC"
grep -v 'WARNING: No output specified' "$ERR" | grep . > /dev/null && fail "--progress quiet printed: $(cat "$ERR")"
echo "options: OK"
