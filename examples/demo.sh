#!/usr/bin/env bash
# `make demo`: fetch a file secret and an environment secret through the bundled provider
# plugins, exactly as a build step would (policy, provider, durable audit record), then show
# the audit records and verify the log's hash chain and signatures.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
lk="$build/bin/latchkey"
work=$(mktemp -d /tmp/latchkey-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A private state directory keeps the demo away from /var/lib/latchkey.
cat > "$work/latchkey.yaml" <<YAML
state_dir: $work/state
YAML
export LATCHKEY_CONFIG="$work/latchkey.yaml"

printf '//registry.npmjs.org/:_authToken=npm_demo_%s\n' "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$work/npmrc"
chmod 600 "$work/npmrc"
export DEMO_REGISTRY_TOKEN="demo-token-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"

echo "== What examples/Dockerfile will ask for, before anything runs"
"$lk" dockerfile outline examples/Dockerfile

echo
echo "== Bundled provider plugins"
"$lk" plugin list

echo
echo "== A session fetches two secrets: a file (--secret id=npmrc,src=...) and an env variable"
"$lk" session check \
  --secret "id=npmrc,src=$work/npmrc" \
  --secret id=registry-token,env=DEMO_REGISTRY_TOKEN \
  --dockerfile "$PWD/examples/Dockerfile" --context "$PWD/examples"

echo
echo "== A secret nobody declared: the error names the sources tried"
"$lk" session check --fetch missing-secret || true

echo
echo "== The audit log (values never appear; each grant carries an HMAC of the value)"
"$lk" audit search --state-dir "$work/state" --format table

echo
echo "== Was this exact .npmrc ever handed out? (HMAC lookup)"
hmac=$("$lk" audit hash --state-dir "$work/state" --value-file "$work/npmrc")
echo "$hmac"
"$lk" audit search --state-dir "$work/state" --hmac "$hmac" --format table

echo
echo "== Verify the hash chain and checkpoint signatures"
"$lk" audit verify --state-dir "$work/state" --pubkey "$work/state/audit-signing.pub"

echo
echo "== The secret values appear nowhere in the state directory"
if grep -rqF "$DEMO_REGISTRY_TOKEN" "$work/state" || grep -rqF "npm_demo_" "$work/state"; then
  echo "LEAK: a secret value was found in $work/state" >&2
  exit 1
fi
echo "no secret value found in $work/state"
