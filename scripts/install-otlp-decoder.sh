#!/usr/bin/env bash
# Installs the OTLP decoder the exporter tests use, the protobufjs code that
# @opentelemetry/otlp-transformer generates from the official
# opentelemetry-proto definitions, into the shared cache, and prints the path
# of its generated root.js:
#   scripts/install-otlp-decoder.sh           # install if needed, print
#   scripts/install-otlp-decoder.sh --print   # only print; fail if missing
# One directory per pinned version (~/.cache/voidbox/npm/otlp-transformer-<v>);
# later versions of the package no longer ship the generated decoder.
set -euo pipefail

version=${VOIDBOX_OTLP_TRANSFORMER_VERSION:-0.57.2}
cache=${VOIDBOX_CACHE_DIR:-$HOME/.cache/voidbox}/npm
dir=$cache/otlp-transformer-$version
root_js=$dir/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js

if [[ -f $root_js ]]; then
  echo "$root_js"
  exit 0
fi
if [[ ${1:-} == --print ]]; then
  echo "install-otlp-decoder.sh: not installed in $dir (run scripts/install-otlp-decoder.sh)" >&2
  exit 1
fi
command -v npm >/dev/null || {
  echo "install-otlp-decoder.sh: npm not found: apt-get install nodejs npm" >&2
  exit 1
}
mkdir -p "$cache"
staging=$(mktemp -d "$cache/.otlp-transformer-$version.XXXXXX")
trap 'rm -rf "$staging"' EXIT
npm install --prefix "$staging" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
  "@opentelemetry/otlp-transformer@$version" </dev/null >&2
# One rename publishes the directory, so no caller finds a half-installed copy.
if ! mv -T "$staging" "$dir" 2>/dev/null; then
  [[ -d $dir ]] || { echo "install-otlp-decoder.sh: could not create $dir" >&2; exit 1; }
fi
trap - EXIT
rm -rf "$staging"
[[ -f $root_js ]] || { echo "install-otlp-decoder.sh: no generated decoder in $dir" >&2; exit 1; }
echo "$root_js"
