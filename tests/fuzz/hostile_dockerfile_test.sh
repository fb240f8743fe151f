#!/usr/bin/env bash
# Hostile Dockerfile shapes (issue 11, item 11): each ~1 MB Dockerfile is run through
# `latchkey dockerfile outline` and `latchkey dockerfile dump` (and those that need no base
# image through `latchkey build`) under /usr/bin/time -v. Every run
# must end (exit 0, or 1 with an error naming the file and line: never a signal or bad_alloc)
# with a max RSS <= 256 MiB. A memory bound, not a timing test; the timeout only stops a
# runaway. Env: LATCHKEY_BUILD_DIR, LATCHKEY_SOURCE_DIR; HOSTILE_KEEP=1 keeps the files.
set -uo pipefail
build="${LATCHKEY_BUILD_DIR:?}"
bin="$build/bin/latchkey"
tmp="$(mktemp -d)"
[[ "${HOSTILE_KEEP:-}" == 1 ]] || trap 'rm -rf "$tmp"' EXIT
limit_kb=$((256 * 1024))
fail=0

python3 - "$tmp" <<'EOF'
import sys
out = sys.argv[1]
MB = 1 << 20

def fill(name, head, line_fn, tail=""):
    parts = [head]
    size = len(head) + len(tail)
    i = 0
    while size < MB:
        s = line_fn(i)
        parts.append(s)
        size += len(s)
        i += 1
    parts.append(tail)
    with open(f"{out}/{name}", "w") as f:
        f.write("".join(parts))

def write(name, text):
    with open(f"{out}/{name}", "w") as f:
        f.write(text)

fill("labels", "FROM scratch\n", lambda i: f"LABEL l{i}=v{i}\n")
fill("envs", "FROM scratch\n", lambda i: f"ENV e{i}=v\n")
fill("env_run", "FROM scratch\n", lambda i: f"ENV e{i}=v\nRUN x\n")
fill("arg_run", "FROM scratch\n", lambda i: f"ARG a{i}=v\nRUN x\n")
fill("label_copy", "FROM scratch\n", lambda i: f"LABEL l{i}=v\nCOPY a /\n")
fill("expose", "FROM scratch\n", lambda i: f"EXPOSE {i % 65535 + 1}/tcp {i % 65535 + 1}/udp\n")
fill("volumes", "FROM scratch\n", lambda i: f"VOLUME /v{i}\n")
fill("workdirs", "FROM scratch\n", lambda i: f"WORKDIR d{i}\n")
fill("onbuild", "FROM scratch AS base\n", lambda i: f"ONBUILD LABEL o{i}=v\n", "FROM base\n")
fill("stages", "FROM scratch AS s0\nENV big=" + "x" * 4096 + "\n",
     lambda i: f"FROM s{i} AS s{i + 1}\n")
# Doubling: 39 ARGs each twice the previous (2^39 bytes if nothing stops it).
write("arg_doubling", "FROM scratch\nARG a0=x\n" +
      "".join(f"ARG a{i}=${{a{i - 1}}}${{a{i - 1}}}\n" for i in range(1, 40)) + "RUN echo $a39\n")
write("env_doubling", "FROM scratch\nENV a0=x\n" +
      "".join(f"ENV a{i}=${{a{i - 1}}}${{a{i - 1}}}\n" for i in range(1, 40)))
# A 64 KiB value copied into many variables.
fill("wide_copies", "FROM scratch\nARG w=" + "y" * 65536 + "\n",
     lambda i: f"ENV c{i}=$w$w$w$w\n")
# One word referencing a 4 KiB value 100,000 times (a 400 MB result).
write("wide_word", "FROM scratch\nARG w=" + "y" * 4096 + "\nLABEL x=" + "$w" * 400000 + "\n")
# ${a:-...} nested ~170,000 deep, in ENV and in a RUN --mount value.
n = MB // 6
write("deep_nesting", "FROM scratch\nENV x=" + "${a:-" * n + "z" + "}" * n + "\n")
write("deep_mount", "FROM scratch\nRUN --mount=type=secret,id=" + "${a:-" * n + "z" + "}" * n +
      " true\n")
write("deep_unclosed", "FROM scratch\nENV x=" + "${a:-" * (MB // 5) + "\n")
# One huge line of each kind.
write("huge_run", "FROM scratch\nRUN " + "x" * MB + "\n")
write("huge_label", "FROM scratch\nLABEL k=" + "v" * MB + "\n")
write("huge_env_kvs", "FROM scratch\nENV " + " ".join(f"k{i}=v" for i in range(MB // 9)) + "\n")
write("huge_json", "FROM scratch\nCMD [" + ",".join(['"a"'] * (MB // 4)) + "]\n")
write("huge_continuation", "FROM scratch\nRUN " + "x \\\n" * (MB // 4) + "x\n")
fill("heredocs", "FROM scratch\n", lambda i: f"RUN <<E{i}\nx\nE{i}\n")
EOF

for f in "$tmp"/*; do
  name="$(basename "$f")"
  for cmd in outline dump; do
    # ulimit -v keeps a regression from taking the machine down with it (it then fails here).
    ( ulimit -v $((2 * 1024 * 1024)); exec /usr/bin/time -v -o "$f.$cmd.time" \
        timeout 120 "$bin" dockerfile "$cmd" "$f" ) > /dev/null 2> "$f.$cmd.err"
    rc=$?
    rss="$(awk -F': ' '/Maximum resident set size/{print $2}' "$f.$cmd.time")"
    msg="$(head -c 300 "$f.$cmd.err" | head -1)"
    if [[ "$rc" != 0 && "$rc" != 1 ]]; then
      echo "FAIL: $cmd $name: exit $rc (max RSS ${rss} KiB) ${msg}"; fail=1
    elif [[ "$rc" == 1 && "$msg" != "error: $f:"[0-9]* ]]; then
      echo "FAIL: $cmd $name: error does not name the file and line: ${msg}"; fail=1
    elif [[ -z "$rss" || "$rss" -gt "$limit_kb" ]]; then
      echo "FAIL: $cmd $name: max RSS ${rss} KiB > ${limit_kb} KiB"; fail=1
    else
      echo "ok: $cmd $name: exit $rc, max RSS $((rss / 1024)) MiB${msg:+ (${msg:0:160})}"
    fi
  done
done
# `latchkey build` evaluates the same way: the shapes that need no base image and fail (or
# finish) before any RUN would start, with a private state dir.
mkdir -p "$tmp/state" "$tmp/ctx"
printf 'state_dir: %s\n' "$tmp/state" > "$tmp/latchkey.yaml"
for name in deep_nesting deep_mount deep_unclosed arg_doubling env_doubling labels envs \
    huge_label wide_word stages onbuild; do
  f="$tmp/$name"
  ( ulimit -v $((2 * 1024 * 1024)); LATCHKEY_CONFIG="$tmp/latchkey.yaml" exec /usr/bin/time -v \
      -o "$f.build.time" timeout 120 "$bin" build --progress plain -f "$f" "$tmp/ctx" ) \
      > /dev/null 2> "$f.build.err"
  rc=$?
  rss="$(awk -F': ' '/Maximum resident set size/{print $2}' "$f.build.time")"
  msg="$(grep -m1 -E '^ERROR|^error' "$f.build.err" | head -c 200)"
  if [[ "$rc" != 0 && "$rc" != 1 ]]; then
    echo "FAIL: build $name: exit $rc (max RSS ${rss} KiB) $(tail -c 300 "$f.build.err")"; fail=1
  elif [[ "$rc" == 1 && ! "$msg" =~ "failed to solve: $name:"[0-9]+": " ]]; then
    echo "FAIL: build $name: error does not name the line: ${msg}"; fail=1
  elif [[ -z "$rss" || "$rss" -gt "$limit_kb" ]]; then
    echo "FAIL: build $name: max RSS ${rss} KiB > ${limit_kb} KiB"; fail=1
  else
    echo "ok: build $name: exit $rc, max RSS $((rss / 1024)) MiB${msg:+ (${msg:0:160})}"
  fi
done
exit $fail
