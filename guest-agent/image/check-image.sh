#!/usr/bin/env bash
# Builds the guest image twice from the same inputs and checks that the bytes
# match and that the archive holds what the guest needs.
set -euo pipefail
agent=${1:?usage: check-image.sh AGENT}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vb-image-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

build() {
  SOURCE_DATE_EPOCH=1700000000 "$repo/scripts/build-guest-image.sh" --quiet --force \
    --agent "$agent" -o "$1"
}
build "$work/a/image.cpio.gz" >"$work/a.out"
sleep 1  # a different wall clock must not change the bytes
build "$work/b/image.cpio.gz" >"$work/b.out"
sha_a=$(sha256sum <"$work/a/image.cpio.gz" | cut -d' ' -f1)
sha_b=$(sha256sum <"$work/b/image.cpio.gz" | cut -d' ' -f1)
[[ $sha_a == "$sha_b" ]] || fail "two builds differ: $sha_a vs $sha_b"
grep -qx "SHA256=$sha_a" "$work/a.out" || fail "printed SHA256 does not match the file"
grep -qx "INITRAMFS=$work/a/image.cpio.gz" "$work/a.out" || fail "INITRAMFS= line missing"
echo "reproducible: $sha_a"

# An unchanged rebuild into the same place is skipped.
t0=$(date +%s%N)
SOURCE_DATE_EPOCH=1700000000 "$repo/scripts/build-guest-image.sh" --agent "$agent" \
  -o "$work/a/image.cpio.gz" 2>"$work/again.err" >/dev/null
grep -q 'up to date' "$work/again.err" || fail "unchanged inputs rebuilt the image"

listing=$(zcat "$work/a/image.cpio.gz" | cpio -t --quiet)
krel=$(sed -n 's/^VERSION=//p' "$work/a.out")
for want in init bin/busybox bin/sh bin/echo bin/cat bin/ls bin/ip bin/awk bin/tar workspace \
            home/sandbox tmp etc/passwd; do
  grep -qx -- "$want" <<<"$listing" || fail "missing /$want"
done
for mod in vsock vmw_vsock_virtio_transport vmw_vsock_virtio_transport_common virtio_mmio \
           virtio_ring virtio 9p 9pnet_virtio overlay virtio_net; do
  grep -q "^lib/modules/$krel/.*/$mod\.ko\$" <<<"$listing" || fail "module $mod.ko missing"
done
! grep -qE '\.ko\.(xz|zst|gz)$' <<<"$listing" || fail "compressed modules in the image"

# /init is the static agent and runs; mtimes and owners are normalised.
mkdir -p "$work/x"
(cd "$work/x" && zcat "$work/a/image.cpio.gz" | cpio -idm --quiet)
file -b "$work/x/init" | grep -q 'statically linked' || fail "/init is not a static binary"
"$work/x/init" --version | grep -q voidbox-guest-agent || fail "/init does not run"
[[ $(readlink "$work/x/bin/sh") == busybox ]] || fail "/bin/sh is not a busybox link"
zcat "$work/a/image.cpio.gz" | cpio -tv --quiet | awk '$3 != "root" && $3 != 0 {bad=1} END {exit bad}' ||
  fail "entries not owned by root"
stat -c %Y "$work/x/bin/busybox" | grep -qx 1700000000 || fail "mtime is not SOURCE_DATE_EPOCH"
echo "contents ok ($(wc -l <<<"$listing") entries, kernel $krel)"
