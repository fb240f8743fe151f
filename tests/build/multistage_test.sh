#!/usr/bin/env bash
# `latchkey build`: multi-stage semantics (moby 2017 fixes, BuildKit): every FROM starts from a
# fresh config (nothing carries over to a `FROM scratch` stage or between stages that share a
# parent), COPY --from by stage name, stage index and image reference, --target builds only
# what the target needs (a later failing stage and an unrelated failing stage never run), an
# unknown --target is refused.
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)

cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test AS base
ENV STAGE1=yes
WORKDIR /work
LABEL stage=base
ENTRYPOINT ["/bin/false"]
USER nobody
RUN echo one > /tmp/one.txt

FROM busybox:test AS unused
RUN exit 7

FROM base AS sibling
ENV SIBLING=leaked

FROM base AS child
RUN echo two > /tmp/two.txt

FROM scratch
COPY --from=base /tmp/one.txt /by-name.txt
COPY --from=0 /tmp/one.txt /by-index.txt
COPY --from=child /tmp/two.txt /two.txt
COPY --from=busybox:test /etc/passwd /passwd
DF
lk_build -o "type=oci-layout,dest=$W/layout" -o "type=local,dest=$W/local" "$ctx"
if [ "$RC" -ne 0 ] || [ ! -e "$W/local" ]; then
  # One -o per build if several are not accepted.
  build_ok -o "type=oci-layout,dest=$W/layout" "$ctx"
  build_ok -o "type=local,dest=$W/local" "$ctx"
fi
expect_eq "$(cat "$W/local/by-name.txt")" "one" "COPY --from=base"
expect_eq "$(cat "$W/local/by-index.txt")" "one" "COPY --from=0"
expect_eq "$(cat "$W/local/two.txt")" "two" "COPY --from=child"
cmp -s "$W/local/passwd" "$W/rootfs/etc/passwd" || fail "COPY --from=busybox:test"
[ ! -e "$W/local/bin" ] || fail "the scratch stage holds files of another stage"
grep -q 'exit 7' "$ERR" && fail "the unused stage was run"
oci_config_of "$W/layout" > "$W/final.json"
python3 - "$W/final.json" <<'EOP' || fail "final config: $(cat "$W/final.json")"
import json, sys
c = json.load(open(sys.argv[1]))
cfg = c.get("config") or {}
env = cfg.get("Env") or []
problems = []
if any(e.startswith("STAGE1=") or e.startswith("SIBLING=") for e in env): problems.append(f"Env {env}")
if cfg.get("WorkingDir") not in (None, "", "/"): problems.append(f"WorkingDir {cfg.get('WorkingDir')}")
if cfg.get("Entrypoint"): problems.append(f"Entrypoint {cfg.get('Entrypoint')}")
if cfg.get("User"): problems.append(f"User {cfg.get('User')}")
if (cfg.get("Labels") or {}).get("stage"): problems.append(f"Labels {cfg.get('Labels')}")
if c.get("architecture") != "amd64" or c.get("os") != "linux": problems.append("platform")
if problems: sys.exit("config carried over from another stage: " + "; ".join(problems))
EOP

# --target: the shared parent's config reaches both children, not the sibling's ENV.
build_ok --target child -o "type=oci-layout,dest=$W/child" "$ctx"
oci_config_of "$W/child" > "$W/child.json"
python3 - "$W/child.json" <<'EOP' || fail "child config: $(cat "$W/child.json")"
import json, sys
cfg = json.load(open(sys.argv[1]))["config"]
env = cfg.get("Env") or []
assert "STAGE1=yes" in env, env
assert not any(e.startswith("SIBLING=") for e in env), env
assert cfg.get("WorkingDir") == "/work", cfg
assert cfg.get("User") == "nobody", cfg
EOP

# --target stops before a later failing stage.
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test AS a
RUN echo a > /a
FROM a AS b
RUN echo stage-b-ran && exit 3
DF
build_ok --target a -o "type=local,dest=$W/a" "$ctx"
expect_eq "$(cat "$W/a/a")" "a" "--target a output"
grep -q 'stage-b-ran' "$ERR" && fail "--target a ran stage b"
# Without --target the last stage runs (and fails): proves the test above can fail.
build_fails "$ctx"
expect_file_contains "$ERR" "stage-b-ran" "default target runs the last stage"

# An unknown --target.
build_fails --target nope "$ctx"
# BuildKit's text, located at the last FROM as the frontend reports it (stages_test.cc).
expect_eq "$(last_err_line)" 'ERROR: failed to solve: Dockerfile:3: target stage "nope" could not be found' "unknown --target"
echo "multistage: OK"
