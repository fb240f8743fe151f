#!/usr/bin/env bash
# The early-exit check: fails when a test or bench script pipes into `grep -q` (or `grep -m`,
# `head`) in a place whose exit status counts. Our scripts run under `set -o pipefail`; `grep -q`
# exits at its first match, and a writer still writing then dies of SIGPIPE (141), so the
# pipeline fails although the text was there: a flake that shows up only on a loaded machine
# (CI's pull_test.sh failed this way: "the build did not ask the registry for moving:1").
# Write `... | grep PATTERN > /dev/null` (reads all of its input) or grep the file itself.
#
#   bash tests/structure/pipefail_grep_test.sh [SOURCE_DIR]
#
# Skipped: comments, lines that build a Dockerfile or a `sh -c` script (their pipes run without
# pipefail), and "$(...)" used as an argument, ending in `|| true` or inside a `fail "..."`
# message (their status is ignored).
set -euo pipefail
src=${1:-${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$src"
hits=$(grep -rnE '\| *(grep -[a-zA-Z]*[qm]|head)\b' tests bench .ci --include='*.sh' --include=run \
  | grep -vE '^[^:]+:[0-9]+: *#' | grep -vE "RUN |sh -c |printf '" \
  | grep -v '^tests/structure/pipefail_grep_test.sh:' | grep -vE '"\$\(|\|\| true\)|fail "' || true)
if [ -n "$hits" ]; then
  echo "FAIL: a pipe into an early-exiting reader under pipefail (use 'grep PATTERN > /dev/null'):"
  echo "$hits"
  exit 1
fi
# A self-check: the pattern above must catch the case it exists for.
probe=$(printf 'tail -n +1 log | grep -q x || fail\n' | grep -cE '\| *(grep -[a-zA-Z]*[qm]|head)\b')
[ "$probe" = 1 ] || { echo "FAIL: the check no longer matches 'tail | grep -q'"; exit 1; }
echo "PASS: no pipe into grep -q/-m or head where its status counts"
