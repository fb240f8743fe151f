#!/usr/bin/env bash
# Installs the SDK component from $LATCHKEY_BUILD_DIR into a temporary prefix, builds the example
# provider out of tree with find_package(LatchkeySDK) and latchkey_add_provider, checks it with
# the installed latchkey-plugin-check, and compiles a one-file plugin with nothing but
# `pkg-config --cflags --libs latchkey-sdk` to prove the .pc file works.
set -euo pipefail
build=${LATCHKEY_BUILD_DIR:?LATCHKEY_BUILD_DIR must name the build directory}
src=${LATCHKEY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" --component sdk > "$tmp/install.log"

# Exactly the SDK files, nothing of the rest of latchkey.
for f in include/latchkey/provider.h include/latchkey/provider.hpp include/latchkey/status.h \
         lib/cmake/LatchkeySDK/LatchkeySDKConfig.cmake \
         lib/cmake/LatchkeySDK/LatchkeySDKConfigVersion.cmake \
         lib/cmake/LatchkeySDK/LatchkeySDKTargets.cmake \
         lib/cmake/LatchkeySDK/LatchkeyProvider.cmake \
         lib/pkgconfig/latchkey-sdk.pc share/latchkey-sdk/latchkey-provider.map \
         bin/latchkey-plugin-check bin/latchkey-provider-host; do
  [ -e "$prefix/$f" ] || { echo "FAILED: the sdk component did not install $f"; exit 1; }
done
if [ -e "$prefix/bin/latchkey" ] || [ -d "$prefix/lib/latchkey" ]; then
  echo "FAILED: the sdk component installed non-SDK files:"; find "$prefix" -type f; exit 1
fi

# The example, out of tree, against the installed package only (a copy, so nothing of the
# source tree is on the include path).
cp -r "$src/sdk/examples/hello-provider" "$tmp/hello"
cmake -S "$tmp/hello" -B "$tmp/hello-build" -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/configure.log"
cmake --build "$tmp/hello-build" > "$tmp/build.log"
plugin=$tmp/hello-build/latchkey-hello.so
[ -f "$plugin" ] || { echo "FAILED: $plugin was not built"; cat "$tmp/build.log"; exit 1; }
printf 'hi from out of tree' > "$tmp/greeting"
"$prefix/bin/latchkey-plugin-check" "$plugin" --config "greeting=hi from out of tree" \
  --ref greeting --expect-file "$tmp/greeting" | tee "$tmp/check.log"
grep -qE '^[0-9]+ passed, 0 failed' "$tmp/check.log"

# A requested SDK major newer than the installed one is refused by the version file.
cat > "$tmp/v2.cmake" <<'CMAKE'
cmake_policy(VERSION 3.19)
find_package(LatchkeySDK 2.0 QUIET)
if(LatchkeySDK_FOUND)
  message(FATAL_ERROR "SDK 1.x must not satisfy a request for 2.0")
endif()
CMAKE
cmake -DCMAKE_PREFIX_PATH="$prefix" -P "$tmp/v2.cmake"

# pkg-config alone is enough to build a conforming plugin (including its export list).
cat > "$tmp/pc.cc" <<'CC'
#include <memory>
#include "latchkey/provider.hpp"
class PcProvider {
 public:
  static constexpr const char* kName = "pc";
  static constexpr const char* kVersion = "0.1.0";
  static latchkey::Result<std::unique_ptr<PcProvider>> Create(const latchkey::sdk::Config&,
                                                              latchkey::sdk::Host&) {
    return std::make_unique<PcProvider>();
  }
  latchkey::Result<latchkey::sdk::Response> Fetch(const latchkey::sdk::Request& req) {
    latchkey::sdk::Response r;
    LK_ASSIGN_OR_RETURN(r.value, req.host.CopySecret(req.ref.data(), req.ref.size()));
    return r;
  }
};
LATCHKEY_DEFINE_PROVIDER(PcProvider)
CC
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags latchkey-sdk)
libs=$(pkg-config --libs latchkey-sdk)
[ "$(pkg-config --modversion latchkey-sdk)" = "1.0.0" ] || { echo "FAILED: pc version"; exit 1; }
c++ -std=c++17 -O2 -Wall -Wextra -Werror -fPIC -shared $cflags -o "$tmp/latchkey-pc.so" \
  "$tmp/pc.cc" $libs
printf 'echo-me' > "$tmp/echo"
"$prefix/bin/latchkey-plugin-check" "$tmp/latchkey-pc.so" --ref echo-me --expect-file "$tmp/echo" \
  | tee "$tmp/pc-check.log"
grep -qE '^[0-9]+ passed, 0 failed' "$tmp/pc-check.log"
echo "out-of-tree SDK build ok"
