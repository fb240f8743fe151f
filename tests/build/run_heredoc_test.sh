#!/usr/bin/env bash
# `RUN` with here-documents, as BuildKit runs them: a lone heredoc becomes a script mounted at
# /dev/pipes/<name> (a `#!` line picks the interpreter; nothing stays in the image), heredocs
# in a command are handed to the shell, and a changed body reruns the step.
source "$(dirname "$0")/lib.sh"
setup_busybox
ctx=$(new_context ctx)
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox:test
RUN <<EOF
echo "script ran as $0" > /script.txt
echo body-one
EOF
RUN <<'EOT' sh -c 'cat > /stdin.txt'
literal $HOME
EOT
RUN <<PY
#!/bin/sh -e
echo "shebang ran" > /shebang.txt
PY
RUN [ ! -e /dev/pipes/EOF ] && [ ! -e /dev/pipes/PY ]
DF
build_ok -o "type=local,dest=$W/out" "$ctx"
expect_eq "$(cat "$W/out/script.txt")" "script ran as /dev/pipes/EOF" "lone heredoc runs as a script"
expect_eq "$(cat "$W/out/stdin.txt")" 'literal $HOME' "quoted heredoc reaches the command unexpanded"
expect_eq "$(cat "$W/out/shebang.txt")" "shebang ran" "shebang heredoc"
[ ! -e "$W/out/dev/pipes" ] || [ -z "$(ls -A "$W/out/dev/pipes")" ] || fail "heredoc scripts left in the image"
grep -qE '^#[0-9]+ [0-9.]+ body-one$' "$ERR" || fail "the script's output is not in the progress"

# Same Dockerfile: all cached. A changed body: that step reruns.
build_ok "$ctx"
expect_eq "$(grep -c ' CACHED$' "$ERR")" "4" "cached steps on an unchanged rebuild"
sed -i 's/body-one/body-two/' "$ctx/Dockerfile"
build_ok "$ctx"
grep -qE '^#[0-9]+ [0-9.]+ body-two$' "$ERR" || fail "a changed heredoc body did not rerun the step"
echo "run_heredoc: OK"
