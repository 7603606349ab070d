#!/usr/bin/env bash
# Builds (once) the OCI image the image-root VM test boots: Debian bookworm's
# essential packages plus python3-minimal, from Debian's archive with
# mmdebstrap, as an OCI layout made with umoci. Its config sets Env
# (PATH, VOIDBOX_IMAGE_MARK) and WorkingDir (/srv) so the test can see them
# reach commands. Prints LAYOUT=<dir> and TAG=<tag>.
#
# Cached under ${VOIDBOX_CACHE:-~/.cache/voidbox}/images/; runs on the host
# (a CTest fixture) because dpkg under the harness's emulated L1 is slow.
set -euo pipefail

cache=${VOIDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voidbox}
name=debian-bookworm-python3-v1
layout=$cache/images/$name
tag=12
mirror=${VOIDBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [[ -f $layout/index.json ]]; then
  printf 'LAYOUT=%s\nTAG=%s\n' "$layout" "$tag"
  exit 0
fi
for tool in mmdebstrap umoci; do
  command -v "$tool" >/dev/null || { echo "build-debian-image.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
mode=root
[[ $(id -u) -eq 0 ]] || mode=unshare
work=$(mktemp -d "$cache/images/.$name.XXXXXX" 2>/dev/null || { mkdir -p "$cache/images"; mktemp -d "$cache/images/.$name.XXXXXX"; })
trap 'rm -rf -- "$work"' EXIT
start=$(date +%s)
mmdebstrap --quiet --mode="$mode" --variant=essential --include=python3-minimal \
  bookworm "$work/rootfs.tar" "$mirror" >&2
umoci init --layout "$work/oci"
umoci new --image "$work/oci:$tag"
umoci raw add-layer --image "$work/oci:$tag" "$work/rootfs.tar"
umoci config --image "$work/oci:$tag" \
  --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.env "VOIDBOX_IMAGE_MARK=debian-python3" --config.workingdir /srv
mv "$work/oci" "$layout"
echo "build-debian-image.sh: built $layout in $(($(date +%s) - start)) s" >&2
printf 'LAYOUT=%s\nTAG=%s\n' "$layout" "$tag"
