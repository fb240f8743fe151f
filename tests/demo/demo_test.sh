#!/usr/bin/env bash
# `make demo` must keep working: run its script against the test build.
set -euo pipefail
cd "$LATCHKEY_SOURCE_DIR"
bash examples/demo.sh "$LATCHKEY_BUILD_DIR"
