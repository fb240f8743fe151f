#!/usr/bin/env bash
# `make install PREFIX=/usr DESTDIR=...` (against the build under test): the installed tree has
# the binaries, the bundled providers, the SDK (headers, CMake package, pkg-config), the bash
# completion, the man page and the docs, and nothing of the tests. The installed latchkey
# prints its version and commit and finds its installed providers; the SDK example builds out
# of tree against the installed CMake package and pkg-config; the completion works when
# sourced. A tree without .git records the commit as "unknown".
set -euo pipefail
build=$(cd "${LATCHKEY_BUILD_DIR:?}" && pwd)
src=${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/lk-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
dest=$tmp/dest
root=$dest/usr

# RELEASE_BUILD points make at the build under test (already built: nothing is recompiled).
make -s -C "$src" install RELEASE_BUILD="$build" PREFIX=/usr DESTDIR="$dest" > "$tmp/install.log" \
  || { cat "$tmp/install.log"; fail "make install"; }

for f in bin/latchkey bin/latchkey-plugin-check \
         lib/latchkey/providers/latchkey-file.so lib/latchkey/providers/latchkey-env.so \
         lib/latchkey/providers/latchkey-store.so lib/latchkey/providers/latchkey-dockerconfig.so \
         include/latchkey/provider.h include/latchkey/provider.hpp include/latchkey/status.h \
         lib/cmake/LatchkeySDK/LatchkeySDKConfig.cmake \
         lib/cmake/LatchkeySDK/LatchkeySDKConfigVersion.cmake \
         lib/cmake/LatchkeySDK/LatchkeySDKTargets.cmake lib/cmake/LatchkeySDK/LatchkeyProvider.cmake \
         lib/pkgconfig/latchkey-sdk.pc share/latchkey-sdk/latchkey-provider.map \
         share/bash-completion/completions/latchkey share/man/man1/latchkey.1 \
         share/doc/latchkey/README.md share/doc/latchkey/configuration.md \
         share/doc/latchkey/plugin-abi.md share/doc/latchkey/examples/latchkey.example.yaml \
         share/doc/latchkey/examples/policy-examples/lockdown.yaml \
         bin/latchkeyd share/doc/latchkey/daemon.md share/latchkey/proto/latchkey/v1/control.proto \
         share/latchkey/proto/moby/buildkit/secrets/v1/secrets.proto \
         share/latchkey/proto/moby/sshforward/v1/ssh.proto \
         share/latchkey/proto/moby/filesync/v1/auth.proto \
         share/latchkey/proto/moby/filesync/v1/filesync.proto \
         lib/systemd/system/latchkeyd.service lib/systemd/system/latchkeyd.socket; do
  [ -e "$root/$f" ] || fail "make install did not install /usr/$f"
done
# Only the bundled providers; no test plugins, fixtures or test binaries; nothing outside /usr.
providers=$(cd "$root/lib/latchkey/providers" && ls | tr '\n' ' ')
[ "$providers" = "latchkey-dockerconfig.so latchkey-env.so latchkey-file.so latchkey-store.so " ] \
  || fail "installed providers: $providers"
[ "$(ls "$root/lib/latchkey")" = "providers" ] || fail "lib/latchkey has $(ls "$root/lib/latchkey")"
[ "$(ls "$dest")" = "usr" ] || fail "installed outside DESTDIR/usr: $(ls "$dest")"
[ "$(ls "$root/bin" | tr '\n' ' ')" = "latchkey latchkey-plugin-check latchkey-provider-host latchkeyd " ] \
  || fail "bin: $(ls "$root/bin")"
[ -x "$root/bin/latchkey" ] || fail "bin/latchkey is not executable"
grep -qx 'ExecStart=/usr/bin/latchkeyd --config /etc/latchkey/latchkey.yaml --state-dir /var/lib/latchkey' \
  "$root/lib/systemd/system/latchkeyd.service" || fail "latchkeyd.service ExecStart"

# The version, with the commit it was built from.
lk=$root/bin/latchkey
version=$("$lk" --version)
[[ $version =~ ^latchkey\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ([0-9a-f]{12}(-dirty)?|unknown)\)$ ]] \
  || fail "latchkey --version: [$version]"
if git -C "$src" rev-parse --show-toplevel > /dev/null 2>&1; then
  head=$(git -C "$src" rev-parse --short=12 HEAD)
  [[ $version == *"(commit $head"* ]] || fail "version [$version] does not name HEAD $head"
fi
[ "$version" = "$("$build/bin/latchkey" --version)" ] || fail "installed and built versions differ"
[ "$("$root/bin/latchkeyd" --version)" = "$version" ] || fail "installed latchkeyd's version differs"
grep -q '^\.TH LATCHKEY "1"' "$root/share/man/man1/latchkey.1" || fail "man page header"
grep -q 'secret' "$root/share/man/man1/latchkey.1" || fail "man page lists no commands"

# A source tree without .git (a release tarball) says "unknown".
mkdir "$tmp/tarball"
cmake -DSOURCE_DIR="$tmp/tarball" -DOUT="$tmp/build_info.h" -DVERSION=9.9.9 \
  -P "$src/cmake/build_info.cmake"
grep -qx '#define LATCHKEY_GIT_COMMIT "unknown"' "$tmp/build_info.h" \
  || fail "a tree without .git: $(cat "$tmp/build_info.h")"

# The installed binary uses the installed providers: a store secret with no configuration.
export LATCHKEY_CONFIG=$tmp/latchkey.yaml
echo "state_dir: $tmp/state" > "$LATCHKEY_CONFIG"
"$lk" plugin list > "$tmp/plugins.txt" 2>&1 || { cat "$tmp/plugins.txt"; fail "plugin list"; }
grep -qF "$root/lib/latchkey/providers/latchkey-store.so" "$tmp/plugins.txt" \
  || fail "installed latchkey does not use the installed store provider: $(cat "$tmp/plugins.txt")"
"$lk" store init > /dev/null
printf 'installed-canary' | "$lk" secret create tok - > /dev/null
out=$("$lk" session check --secret id=tok,type=store,src=tok 2> "$tmp/check.err") \
  || fail "session check with the installed binary: $(cat "$tmp/check.err")"
[[ $out == *"GRANTED   tok: 16 bytes from provider store version 1"* ]] || fail "session check: $out"
unset LATCHKEY_CONFIG

# The SDK example, out of tree, against the installed CMake package; then pkg-config alone.
cp -r "$src/sdk/examples/hello-provider" "$tmp/hello"
cmake -S "$tmp/hello" -B "$tmp/hello-build" -DCMAKE_PREFIX_PATH="$root" > "$tmp/configure.log" \
  || { cat "$tmp/configure.log"; fail "configuring the SDK example"; }
cmake --build "$tmp/hello-build" > "$tmp/hello.log" || { cat "$tmp/hello.log"; fail "building it"; }
printf 'hi' > "$tmp/greeting"
"$root/bin/latchkey-plugin-check" "$tmp/hello-build/latchkey-hello.so" --config greeting=hi \
  --ref greeting --expect-file "$tmp/greeting" > "$tmp/check.log" \
  || { cat "$tmp/check.log"; fail "plugin check of the out-of-tree example"; }
grep -qE '^[0-9]+ passed, 0 failed' "$tmp/check.log" || fail "conformance: $(tail -3 "$tmp/check.log")"
export PKG_CONFIG_PATH=$root/lib/pkgconfig
[ "$(pkg-config --modversion latchkey-sdk)" = "1.0.0" ] || fail "pkg-config --modversion"
c++ -std=c++17 -O2 -Wall -Wextra -Werror -fPIC -shared $(pkg-config --cflags latchkey-sdk) \
  -o "$tmp/latchkey-hello2.so" "$src/sdk/examples/hello-provider/hello.cc" \
  $(pkg-config --libs latchkey-sdk) || fail "building the example with pkg-config"
nm -D --defined-only "$tmp/latchkey-hello2.so" | grep ' lk_provider_entry$' > /dev/null \
  || fail "the pkg-config build does not export lk_provider_entry"

# The completion, sourced as bash-completion would.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _latchkey
           echo "${COMPREPLY[*]}"' _ "$root/share/bash-completion/completions/latchkey" "$@"
}
[ "$(complete_words latchkey im)" = "images image" ] || fail "complete 'im': $(complete_words latchkey im)"
[ "$(complete_words latchkey --config c.yaml image imp)" = "import" ] || fail "complete 'image imp'"
[ "$(complete_words latchkey build -f Dockerfile --no-cache --ta)" = "--target --tag" ] \
  || fail "complete build flags: $(complete_words latchkey build -f Dockerfile --no-cache --ta)"
[ "$(complete_words latchkey build --secret '')" = "" ] || fail "a flag's value is not a command"
bash -c 'source "$1"; complete -p latchkey' _ "$root/share/bash-completion/completions/latchkey" \
  | grep -x 'complete -o default -F _latchkey latchkey' > /dev/null || fail "complete -p latchkey"
[ "$("$lk" completion bash)" = "$(cat "$root/share/bash-completion/completions/latchkey")" ] \
  || fail "the installed completion differs from latchkey completion bash"
# Only bash, for now: another shell is a usage error naming the choices.
set +e
err=$("$lk" completion zsh 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "completion zsh exited $rc"
[ "$err" = "SHELL: zsh not in {bash}
Run with --help for more information." ] || fail "completion zsh: [$err]"
echo "install ok"
