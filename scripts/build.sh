#!/usr/bin/env bash
# Configures (once) and builds into build/: build/bin/voidbox, plugins in
# build/lib/voidbox/plugins/. Extra arguments go to `cmake --build`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ ! -f build/build.ninja ]]; then
  cmake --preset default
fi
cmake --build build --parallel "$(nproc)" "$@"
