#!/usr/bin/env bash
# The include-edge check: fails when a source file includes a header from a folder its
# component may not depend on (docs/architecture.md, "Dependency edges").
#
#   bash tests/structure/include_edges_test.sh [SOURCE_DIR]
#
# SOURCE_DIR defaults to $LATCHKEY_SOURCE_DIR, else the checkout this script is in. Every
# C/C++ file below the component folders is read (tracked or not; build trees are skipped).
# Each `#include "x"` or `#include <x>` naming one of our folders (or latchkey/…, the SDK) is
# mapped to the folder of the header it names and checked against the rules below.
#
# Rules (a file may always include headers of its own component):
#   sdk/                 -> sdk only
#   base/                -> sdk/include only
#   secure/              -> sdk/include, base/
#   builder/frontend/    -> sdk/include, base/
#   builder/executor/    -> sdk/include, base/, secure/; never the frontend, image or build
#   plugins/<p>/         -> sdk/include, plugins/<p>/
#   builder/{image,solver}/ -> no broker/ header except the KNOWN DEPARTURES below
#                           (secure/ is allowed: it is not part of the broker); never registry/,
#                           session/, daemon/ or cli/ (a build pulls through its ImagePuller,
#                           builder/solver/image_puller.h, which cli/ implements)
#   store/ (the engine)  -> sdk/include, base/, secure/
#   broker/              -> no builder/, cli/, plugins/, store/, session/ or daemon/ header
#   session/ (the client end of a daemon session) -> sdk/include, base/, api/ (generated),
#                           secure/secret_buffer.h
#   daemon/              -> no cli/ header
#   engine/ (Docker Engine's API client) -> sdk/include, base/, api/ (generated), session/
#   registry/            -> sdk/include, base/, secure/secret_buffer.h, secure/secure_json.h,
#                           secure/docker_config.h, builder/image/ (the blob store, digests,
#                           references); never the broker's session or config
#
# Exceptions are listed one per line as "<file or folder prefix> <included header> <reason>",
# so each is visible and has a reason. Remove a line when its edge goes away: a listed
# exception that no file uses any more is itself reported (the list must not rot).
#
# Output: one line per forbidden edge, "<file>:<line>: <component> may not include <header>
# (<rule>)", then "include edges: N files checked, M forbidden" and exit 1 when M > 0.
set -uo pipefail

root=${1:-${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$root" || { echo "include edges: cannot enter $root"; exit 1; }

# Allowed exceptions to a rule: "<file or folder prefix> <header> <reason>".
ALLOWED_EXCEPTIONS=$(cat <<'EOF'
plugins/store/store_provider.cc store/store.h the store plugin is the adapter from the provider ABI to the engine library
plugins/store/store_provider.cc store/secret_io.h the store plugin is the adapter from the provider ABI to the engine library
plugins/store/store_provider.cc store/name.h the store plugin is the adapter from the provider ABI to the engine library
plugins/file/file_provider_test.cc broker/plugin_test_util.h the test loads the built plugin through the host's loader
plugins/file/file_provider_test.cc broker/provider_instance.h the test drives the plugin through the host's ABI checks
plugins/env/env_provider_test.cc broker/plugin_test_util.h the test loads the built plugin through the host's loader
plugins/env/env_provider_test.cc broker/provider_instance.h the test drives the plugin through the host's ABI checks
plugins/dockerconfig/dockerconfig_provider.cc secure/docker_config.h the plugin links Docker's config lookup (shared with the registry client and login) inside itself
plugins/dockerconfig/dockerconfig_provider.cc secure/docker_credential_helper.h the plugin links the credential helper protocol (shared with login/logout) inside itself
plugins/dockerconfig/dockerconfig_provider.cc secure/secret_buffer.h the plugin holds the file and helper answers in secure memory before copying into host memory
plugins/dockerconfig/dockerconfig_provider.cc secure/secure_json.h the plugin lists the file's keys without decoding values
plugins/dockerconfig/dockerconfig_provider_test.cc broker/plugin_test_util.h the test loads the built plugin through the host's loader
plugins/dockerconfig/dockerconfig_provider_test.cc broker/provider_instance.h the test drives the plugin through the host's ABI checks
sdk/conformance/plugin_check_main.cc broker/process_conformance.h the standalone tool runs its suite through latchkey's process host too
EOF
)

# Known departures: builder files that reach into broker internals. None today: the session, the
# audit log and the logger are behind builder/solver/secret_session.h (and a logger passed to
# Build()), and secure memory and redaction live in secure/. A new line here is a new departure
# and belongs in docs/architecture.md too.
KNOWN_DEPARTURES=$(cat <<'EOF'
EOF
)

# Folders we own; an include whose first component is one of these (or latchkey/) is ours.
OURS='^(api|base|broker|builder|cli|daemon|engine|plugins|registry|sdk|secure|session|store|tests|bench|examples|latchkey)/'

component_of() {  # path -> component name used by the rules
  case $1 in
    sdk/*) echo sdk ;;
    base/*) echo base ;;
    secure/*) echo secure ;;
    builder/frontend/*) echo frontend ;;
    builder/executor/*) echo executor ;;
    builder/image/* | builder/solver/*) echo builder ;;
    plugins/*/*) echo "plugins/$(cut -d/ -f2 <<<"$1")" ;;
    broker/*) echo broker ;;
    store/*) echo store ;;
    session/*) echo session ;;
    daemon/*) echo daemon ;;
    engine/*) echo engine ;;
    registry/*) echo registry ;;
    *) echo other ;;
  esac
}

# Is "<file> <header>" covered by a line of the list in $1?
listed() {
  local list=$1 file=$2 header=$3 prefix h _
  while read -r prefix h _; do
    [ -z "$prefix" ] && continue
    if [ "$h" = "$header" ] && [[ $file == "$prefix"* ]]; then
      used["$prefix $h"]=1
      return 0
    fi
  done <<<"$list"
  return 1
}

declare -A used=()
files=0
bad=0
report() {
  echo "$1"
  bad=$((bad + 1))
}

while IFS= read -r f; do
  files=$((files + 1))
  comp=$(component_of "$f")
  [ "$comp" = other ] && continue
  dir=$(dirname "$f")
  while IFS=: read -r lineno inc; do
    # A bare name ("conformance.h") is resolved next to the including file.
    if [[ $inc != */* ]]; then
      [ -e "$dir/$inc" ] && header="$dir/$inc" || continue
    elif [[ $inc =~ ^latchkey/ ]]; then
      header="sdk/include/$inc"
    elif [[ $inc =~ $OURS ]]; then
      header=$inc
    else
      continue
    fi
    hcomp=$(component_of "$header")
    [ "$hcomp" = "$comp" ] && continue
    rule=""
    case $comp in
      sdk) rule="sdk includes nothing of ours" ;;
      base) [[ $header == sdk/include/* ]] || rule="base/ includes only sdk/include" ;;
      secure)
        [[ $header == sdk/include/* || $header == base/* ]] ||
          rule="secure/ includes only sdk/include and base/" ;;
      frontend)
        [[ $header == sdk/include/* || $header == base/* ]] ||
          rule="the frontend includes only sdk/include and base/" ;;
      plugins/*)
        [[ $header == sdk/include/* ]] || rule="a plugin includes only sdk/include" ;;
      executor)
        if [[ $header != sdk/include/* && $header != base/* && $header != secure/* ]] &&
           ! listed "$KNOWN_DEPARTURES" "$f" "$header"; then
          rule="the executor includes only sdk/include, base/ and secure/ (its mount types are its own)"
        fi ;;
      builder)
        if [[ $header == broker/* ]] && ! listed "$KNOWN_DEPARTURES" "$f" "$header"; then
          rule="the builder does not include broker internals"
        elif [[ $header == registry/* || $header == session/* || $header == daemon/* ||
                $header == cli/* ]]; then
          rule="the builder never includes the registry client, the session client, the daemon or the CLI"
        fi ;;
      store)
        [[ $header == sdk/include/* || $header == base/* || $header == secure/* ]] ||
          rule="the store engine includes only sdk/include, base/ and secure/" ;;
      registry)
        [[ $header == sdk/include/* || $header == base/* || $header == secure/secret_buffer.h ||
           $header == secure/secure_json.h || $header == secure/docker_config.h ||
           $header == builder/image/* ]] ||
          rule="the registry client includes only sdk/include, base/, secure/secret_buffer.h, secure/secure_json.h, secure/docker_config.h and builder/image/" ;;
      broker)
        [[ $header == builder/* || $header == cli/* || $header == plugins/* || $header == store/* ||
           $header == session/* || $header == daemon/* ]] &&
          rule="the broker never includes the builder, the CLI, a plugin, the store engine, the session client or the daemon" ;;
      session)
        [[ $header == sdk/include/* || $header == base/* || $header == api/* ||
           $header == secure/secret_buffer.h ]] ||
          rule="the session client includes only sdk/include, base/, api/ and secure/secret_buffer.h" ;;
      daemon)
        [[ $header == cli/* ]] && rule="the daemon never includes the CLI" ;;
      engine)
        [[ $header == sdk/include/* || $header == base/* || $header == api/* ||
           $header == session/* ]] ||
          rule="the Docker Engine client includes only sdk/include, base/, api/ and session/" ;;
    esac
    [ -z "$rule" ] && continue
    listed "$ALLOWED_EXCEPTIONS" "$f" "$header" && continue
    report "$f:$lineno: $comp may not include $header ($rule)"
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][^">]+[">]' "$f" |
           sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1:\2/')
done < <(find base broker builder cli daemon engine plugins registry sdk secure session store -type f \
           \( -name '*.cc' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' \) \
           -not -path '*/build/CMakeFiles/*' 2>/dev/null | sort)

# A listed exception or departure that nothing uses any more is stale: delete its line.
while read -r prefix h _; do
  [ -z "$prefix" ] && continue
  [ -n "${used["$prefix $h"]:-}" ] ||
    report "stale exception: no file under $prefix includes $h any more (delete its line)"
done <<<"$ALLOWED_EXCEPTIONS
$KNOWN_DEPARTURES"

echo "include edges: $files files checked, $bad forbidden"
[ "$bad" -eq 0 ]
