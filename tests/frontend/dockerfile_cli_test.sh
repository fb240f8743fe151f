#!/usr/bin/env bash
# End-to-end checks of `latchkey dockerfile dump|outline`: golden output, exit codes and the
# exact error text. Env: LATCHKEY_BUILD_DIR, LATCHKEY_SOURCE_DIR.
set -uo pipefail
build="${LATCHKEY_BUILD_DIR:?}"
src="${LATCHKEY_SOURCE_DIR:?}"
bin="$build/bin/latchkey"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # name, expected, actual
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1"; diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -20; fail=1
  else
    echo "ok: $1"
  fi
}

# dump: every golden case.
for d in "$src"/tests/frontend/dump/*/; do
  out="$("$bin" dockerfile dump "$d/Dockerfile")"; rc=$?
  check "dump $(basename "$d") rc" 0 "$rc"
  check "dump $(basename "$d")" "$(cat "$d/result")" "$out"
done

# dump: parse errors exit 1 with file:line.
printf 'FROM busybox\n\nENV PATH\n' > "$tmp/Dockerfile"
err="$("$bin" dockerfile dump "$tmp/Dockerfile" 2>&1 >/dev/null)"; rc=$?
check "ENV PATH rc" 1 "$rc"
check "ENV PATH message" "error: $tmp/Dockerfile:3: ENV must have two arguments" "$err"
printf 'FROM a\nRUNN x\n' > "$tmp/Dockerfile"
err="$("$bin" dockerfile dump "$tmp/Dockerfile" 2>&1 >/dev/null)"; rc=$?
check "unknown instruction rc" 1 "$rc"
check "unknown instruction message" \
  "error: $tmp/Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)" "$err"
printf '# only a comment\n' > "$tmp/Dockerfile"
err="$("$bin" dockerfile dump "$tmp/Dockerfile" 2>&1 >/dev/null)"; rc=$?
check "no instructions" "error: $tmp/Dockerfile:1: file with no instructions" "$err"
err="$("$bin" dockerfile dump "$tmp/missing" 2>&1 >/dev/null)"; rc=$?
check "missing file rc" 1 "$rc"
check "missing file message" "error: cannot read $tmp/missing: No such file or directory" "$err"
"$bin" dockerfile dump >/dev/null 2>&1; rc=$?
check "usage rc" 2 "$rc"

# outline: golden table, json and lint warnings.
g="$src/tests/frontend/outline/multistage"
cp "$g/Dockerfile" "$tmp/Dockerfile"
# shellcheck disable=SC2046
out="$(cd "$tmp" && "$bin" dockerfile outline Dockerfile $(cat "$g/args") 2>"$tmp/stderr")"; rc=$?
check "outline rc" 0 "$rc"
check "outline table" "$(cat "$g/table")" "$out"
check "outline warnings" "$(cat "$g/stderr")" "$(cat "$tmp/stderr")"
# shellcheck disable=SC2046
out="$(cd "$tmp" && "$bin" dockerfile outline Dockerfile $(cat "$g/args") --format json 2>/dev/null)"
check "outline json" "$(cat "$g/json")" "$out"
err="$(cd "$tmp" && "$bin" dockerfile outline Dockerfile --target nope 2>&1 >/dev/null)"; rc=$?
check "outline unknown target rc" 1 "$rc"
check "outline unknown target" \
  "error: Dockerfile:17: target stage \"nope\" could not be found" "$(echo "$err" | grep error:)"
"$bin" dockerfile outline "$tmp/Dockerfile" --format xml >/dev/null 2>&1; rc=$?
check "outline bad format rc" 2 "$rc"
exit $fail
