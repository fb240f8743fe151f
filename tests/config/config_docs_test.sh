#!/usr/bin/env bash
# The configuration documents match the code: `latchkey config check` accepts
# config/latchkey.example.yaml (and its own output); every key named in the key tables of
# docs/configuration.md, the rule table of docs/policy.md and the configuration table of
# docs/audit-log.md is a key of the example (so config check has accepted it); and every key of
# the example is named in those tables. The checker is first shown to fail on a document that
# names a key the configuration rejects.
set -euo pipefail
lk="${LATCHKEY_BUILD_DIR:?}/bin/latchkey"
src=${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/lk-config-docs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
example=$src/config/latchkey.example.yaml

# 1. config check accepts the example, and the effective configuration it prints.
env -u LATCHKEY_CONFIG "$lk" config check "$example" > "$tmp/effective.yaml" 2> "$tmp/err" \
  || fail "config check $example: $(cat "$tmp/err")"
env -u LATCHKEY_CONFIG "$lk" config check "$tmp/effective.yaml" > /dev/null 2> "$tmp/err" \
  || fail "config check of its own output: $(cat "$tmp/err")"

# 2. Documented keys against the example's keys.
cat > "$tmp/check.py" <<'PY'
import re, sys, yaml

# Sub-trees whose keys are the user's own (plugin settings, secret ids, label names).
FREE = {"plugins[].config", "secrets", "policy.rules[].labels"}
# A `### `name`` heading of docs/configuration.md -> where its table's keys live.
SECTION = {"plugins": "plugins[].", "secrets": "secrets.*.", "policy": "policy.",
           "audit": "audit.", "log": "log.", "builder": "builder.", "store": "store.",
           "registries": "registries.*.", "daemon": "daemon."}
# Mappings whose keys are the user's own names (secret ids, registry hosts): their entries'
# keys are documented once, as "<section>.*.<key>".
NAMED = ("secrets.", "registries.")

def example_keys(path):
    keys = set()
    def walk(node, prefix):
        if prefix.rstrip(".") in FREE or prefix in NAMED:
            keys.add(prefix.rstrip("."))
            if prefix in NAMED:
                for v in node.values():
                    walk(v, prefix + "*.")
            return
        if isinstance(node, dict):
            for k, v in node.items():
                keys.add(prefix + str(k))
                walk(v, prefix + str(k) + ".")
        elif isinstance(node, list):
            for item in node:
                walk(item, prefix.rstrip(".") + "[].")
    walk(yaml.safe_load(open(path)), "")
    return keys

def table_keys(path, prefix_for_heading, fixed_prefix=None):
    """Backticked first cells of tables whose header's first cell is `key`."""
    keys, prefix, in_table = set(), "", False
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^###? `([a-z_]+)`", line)
        if m and prefix_for_heading:
            prefix = prefix_for_heading.get(m.group(1), "")
        elif line.startswith("## "):
            prefix = ""
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if not cells:
            in_table = False
            continue
        if cells[0] in ("key", "option"):
            in_table = True
            continue
        m = re.fullmatch(r"`([a-z_][a-z0-9_.]*)`", cells[0])
        if in_table and m:
            keys.add((fixed_prefix if fixed_prefix is not None else prefix) + m.group(1))
    return keys

example = example_keys(sys.argv[1])
configuration, policy, audit = sys.argv[2], sys.argv[3], sys.argv[4]
documented = table_keys(configuration, SECTION)
documented |= table_keys(policy, None, "policy.rules[].")
documented |= {k for k in table_keys(audit, None, "audit.")}
problems = [f"{k}: named in the docs, not a key of the example (so not checked)"
            for k in sorted(documented - example)]
leaves = {k for k in example if not any(o.startswith(k + ".") or o.startswith(k + "[].")
                                        for o in example) or k in FREE}
problems += [f"{k}: a key of the example that no table documents"
             for k in sorted(leaves - documented)
             if not any(k.startswith(f + ".") for f in FREE)]
print("\n".join(problems) if problems else f"{len(documented)} documented keys, all checked")
sys.exit(1 if problems else 0)
PY

# The checker fails on a document that names a key the configuration rejects.
sed 's/^| `timeout` |/| `write_timeout` |/' "$src/docs/configuration.md" > "$tmp/bad.md"
if python3 "$tmp/check.py" "$example" "$tmp/bad.md" "$src/docs/policy.md" "$src/docs/audit-log.md" \
  > "$tmp/bad.out"; then
  fail "the checker accepted a document naming audit.write_timeout"
fi
grep -qx 'audit.write_timeout: named in the docs, not a key of the example (so not checked)' \
  "$tmp/bad.out" || fail "checker output: $(cat "$tmp/bad.out")"
# ... and the key really is rejected by config check.
printf 'audit:\n  write_timeout: 5s\n' > "$tmp/bad.yaml"
if env -u LATCHKEY_CONFIG "$lk" config check "$tmp/bad.yaml" > /dev/null 2>&1; then
  fail "config check accepted audit.write_timeout"
fi

python3 "$tmp/check.py" "$example" "$src/docs/configuration.md" "$src/docs/policy.md" \
  "$src/docs/audit-log.md" || fail "the configuration docs and the example disagree"
echo "config docs ok"
