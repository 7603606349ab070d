#!/usr/bin/env bash
# Builds the read-only ext4 agent disk for a guest flavor and prints its path:
#   scripts/build-agent-disk.sh claude|codex
# The agent comes from npm (scripts/install-agent.sh); the disk holds its
# native executable plus every shared library `ldd` lists for it, so a guest
# without glibc (the busybox initramfs) can run it, and the host's bash (the
# agents' shell tools need bash; claude-code refuses busybox sh). Cached by
# agent version and disk layout under
# ${VOIDBOX_CACHE_DIR:-~/.cache/voidbox}/agents/<agent>-<version>-d<layout>.ext4;
# an existing disk is reused, not rebuilt.
#
# Layout (mount it anywhere, e.g. /opt/voidbox-agent = ROOT):
#   ROOT/bin/<agent>        sh wrapper: runs the agent through the disk's own
#                           dynamic loader and libraries, so nothing outside
#                           ROOT is needed (put ROOT/bin on PATH)
#   ROOT/bin/bash           the same kind of wrapper for the bundled bash
#                           (point SHELL at it)
#   ROOT/libexec/<agent>    the npm package's native executable
#   ROOT/lib/...            the libraries ldd resolved, flattened
#   ROOT/agent.json         {"agent", "version", "binary", "loader", "libraries"}
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
agent=${1:?usage: build-agent-disk.sh claude|codex}
case $agent in claude | codex) ;; *) echo "build-agent-disk.sh: unknown agent '$agent'" >&2; exit 2 ;; esac
for tool in mke2fs ldd; do
  command -v "$tool" >/dev/null || { echo "build-agent-disk.sh: $tool not found: apt-get install e2fsprogs libc-bin" >&2; exit 1; }
done

binary=$(bash "$here/install-agent.sh" "$agent")
# The install directory is <cache>/npm/<agent>-<version>.
version=$(basename "$(echo "$binary" | sed -E "s|(/npm/$agent-[^/]+)/.*|\1|")")
version=${version#"$agent"-}
cache=${VOIDBOX_CACHE_DIR:-$HOME/.cache/voidbox}/agents
# Bump when the layout changes, so a disk of the old layout is not reused.
layout=2
disk=$cache/$agent-$version-d$layout.ext4
if [[ -f $disk ]]; then
  echo "$disk"
  exit 0
fi
mkdir -p "$cache"

staging=$(mktemp -d "$cache/.$agent-$version.XXXXXX")
trap 'rm -rf "$staging"' EXIT
tree=$staging/tree
mkdir -p "$tree/bin" "$tree/libexec" "$tree/lib"

loader=
libs=()
# add_program SRC NAME: copies SRC to libexec/NAME with the libraries ldd
# lists (flattened into lib/) and writes the bin/NAME wrapper. ldd prints
# "name => /path (addr)" for libraries and "/path (addr)" for the loader; a
# static executable (codex is static-pie musl) needs neither.
add_program() {
  local src=$1 name=$2 prog_loader= line path run_line
  cp -L "$src" "$tree/libexec/$name"
  chmod 0755 "$tree/libexec/$name"
  if ! ldd "$src" 2>&1 | grep -q 'statically linked\|not a dynamic executable'; then
    while read -r line; do
      path=
      if [[ $line == *"=>"* ]]; then
        path=$(awk '{print $3}' <<<"$line")
      elif [[ $line == /* ]]; then
        path=$(awk '{print $1}' <<<"$line")
        prog_loader=$(basename "$path")
      fi
      [[ -n $path && -f $path ]] || continue
      [[ -f $tree/lib/$(basename "$path") ]] && continue
      cp -L "$path" "$tree/lib/$(basename "$path")"
      libs+=("$(basename "$path")")
    done < <(ldd "$src")
    [[ -n $prog_loader ]] || { echo "build-agent-disk.sh: ldd named no dynamic loader for $src" >&2; exit 1; }
  fi
  if [[ -n $prog_loader ]]; then
    run_line="exec \"\$root/lib/$prog_loader\" --library-path \"\$root/lib\" \"\$root/libexec/$name\" \"\$@\""
  else
    run_line="exec \"\$root/libexec/$name\" \"\$@\""
  fi
  printf '%s\n' '#!/bin/sh' \
    "# Runs $name with this disk's loader and libraries, wherever it is mounted." \
    'root=$(dirname "$(dirname "$(readlink -f "$0")")")' \
    "$run_line" >"$tree/bin/$name"
  chmod 0755 "$tree/bin/$name"
  if [[ $name == "$agent" ]]; then loader=$prog_loader; fi
}
add_program "$binary" "$agent"
bash_path=$(command -v bash)
add_program "$bash_path" bash

{
  loader_json=null
  [[ -z $loader ]] || loader_json="\"lib/$loader\""
  printf '{"agent":"%s","version":"%s","binary":"libexec/%s","loader":%s,"libraries":[' \
    "$agent" "$version" "$agent" "$loader_json"
  sep=
  for l in "${libs[@]}"; do printf '%s"lib/%s"' "$sep" "$l"; sep=,; done
  printf ']}\n'
} >"$tree/agent.json"

# Room for the files plus ext4's own metadata; read-only, so no journal and
# no reserved blocks.
bytes=$(du -sb "$tree" | awk '{print $1}')
size_kib=$(((bytes / 1024) * 105 / 100 + 16384))
mke2fs -q -t ext4 -O ^has_journal -m 0 -L "voidbox-$agent" -E root_owner=0:0 \
  -d "$tree" "$staging/disk.ext4" "${size_kib}k" >&2
mv "$staging/disk.ext4" "$disk.tmp.$$"
mv -f "$disk.tmp.$$" "$disk"
echo "$disk"
