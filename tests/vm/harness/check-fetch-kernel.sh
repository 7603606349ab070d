#!/usr/bin/env bash
# Checks scripts/fetch-kernel.sh: it yields a bootable kernel layout, and a
# second run is served from the cache (same answer, no apt, well under 2 s).
# The first run downloads from Debian's archive unless the cache is warm.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
fetch=$here/../../../scripts/fetch-kernel.sh
fail() { echo "FAIL: $*" >&2; exit 1; }

first=$("$fetch" --quiet) || fail "first run failed"
val() { sed -n "s/^$1=//p" <<<"$first"; }
for key in VERSION KERNEL_DIR VMLINUZ VMLINUX MODULES MODULES_ROOT; do
  [[ -n $(val "$key") ]] || fail "no $key= line in: $first"
done
[[ -f $(val VMLINUZ) ]] || fail "VMLINUZ $(val VMLINUZ) missing"
[[ $(head -c 4 "$(val VMLINUX)" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] ||
  fail "VMLINUX is not an ELF file"
# bzImage magic "HdrS" at 0x202.
[[ $(dd if="$(val VMLINUZ)" bs=1 skip=514 count=4 status=none) == HdrS ]] ||
  fail "VMLINUZ is not a bzImage"
[[ -f $(val MODULES)/modules.dep ]] || fail "modules.dep missing (depmod)"
for m in kvm kvm-amd 9p 9pnet_virtio virtio_pci; do
  [[ -n $(find "$(val MODULES)" -name "$m.ko" -print -quit) ]] || fail "module $m.ko missing"
done
compressed=$(find "$(val MODULES)" \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -print -quit)
[[ -z $compressed ]] || fail "compressed modules left in the cache: $compressed"

start=$(date +%s%N)
second=$("$fetch" --quiet) || fail "second run failed"
ms=$((($(date +%s%N) - start) / 1000000))
[[ $second == "$first" ]] || fail "second run answered differently"
((ms < 2000)) || fail "second run took ${ms} ms; the cache should make it instant"

offline=$("$fetch" --quiet --offline) || fail "--offline failed with a warm cache"
[[ $(sed -n 's/^VERSION=//p' <<<"$offline") == "$(val VERSION)" ]] ||
  fail "--offline picked another kernel"
leftover=$(find "$(dirname "$(val KERNEL_DIR)")" -maxdepth 1 -name '.tmp.*' -mmin +60)
[[ -z $leftover ]] || fail "stale temp dirs in the cache: $leftover"
echo "PASS (cached run ${ms} ms)"
