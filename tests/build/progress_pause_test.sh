#!/usr/bin/env bash
# Output that keeps up (issue 15): a step's line without a newline shows while the step runs
# (after 100 ms of quiet) instead of with the next line, a secret printed in two parts across
# such a pause is still masked whole, and writing the step's layer shows as a phase in plain and
# JSON progress. The pauses in the step are 2 s, far above the 100 ms idle flush.
source "$(dirname "$0")/lib.sh"
setup_busybox
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ctx=$(new_context ctx)
tok="tokP$(rnd)"
printf '%s' "$tok" > "$W/tok"
chmod 600 "$W/tok"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN --mount=type=secret,id=tok sh -c 'printf waiting; sleep 2; printf " token=%s" "$(cut -c1-8 /run/secrets/tok)"; sleep 2; printf "%s rest\n" "$(cut -c9- /run/secrets/tok)"; echo made > /made'
DF
build_ok --secret "id=tok,src=$W/tok" "$ctx"
expect_file_lacks "$ALL_OUTPUT" "$tok" "the secret in the progress"
expect_file_lacks "$ALL_OUTPUT" "${tok:0:8}" "the secret's first part in the progress"
grep -qE '^#[0-9]+ [0-9.]+ waiting$' "$ERR" || fail "the partial line was not shown on its own: $(cat "$ERR")"
grep -qE '^#[0-9]+ [0-9.]+  token=$' "$ERR" || fail "the part before the secret was not shown: $(cat "$ERR")"
grep -qE '^#[0-9]+ [0-9.]+ \*\*\*\* rest$' "$ERR" || fail "the secret split by the pause was not masked whole: $(cat "$ERR")"
grep -qE '^#[0-9]+ writing layer$' "$ERR" || fail "no writing layer phase: $(cat "$ERR")"
grep -qE '^#[0-9]+ writing layer [0-9.]+s done$' "$ERR" || fail "no end of the writing layer phase"

# JSON: the paused part is its own log event; the phase has a start and an end with a duration.
set +e
"$LK" build --progress json --no-cache --secret "id=tok,src=$W/tok" "$ctx" > "$OUT" 2> "$ERR"
RC=$?
set -e
cat "$OUT" "$ERR" >> "$ALL_OUTPUT"
expect_eq "$RC" 0 "json build"
expect_file_lacks "$ERR" "${tok:0:8}" "the secret's first part in the JSON progress"
python3 - "$ERR" <<'EOP' || fail "JSON progress: $(cat "$ERR")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
logs = [e["data"] for e in events if e["event"] == "log"]
assert logs[:3] == ["waiting", " token=", "**** rest\n"], logs
phases = [(e["event"], e["name"]) for e in events if e["event"].startswith("phase")]
assert ("phase", "writing layer") in phases and ("phase_done", "writing layer") in phases, phases
done = [e for e in events if e["event"] == "phase_done"]
assert all(isinstance(e["duration"], (int, float)) for e in done), done
EOP
echo "progress_pause: OK"
