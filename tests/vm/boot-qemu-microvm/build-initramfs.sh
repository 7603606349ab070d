#!/usr/bin/env bash
# Builds (or reuses) the boot test's initramfs and prints its path.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
lib=$here/../lib

usage() {
  cat <<USAGE
Usage: $prog [-o OUT]

Builds the busybox initramfs of the QEMU-microvm boot test (/init =
init.sh: prints "VOIDBOX-GUEST-MARKER <nonce>" with the nonce taken from the
kernel command line's voidbox.nonce=, then reboots) and prints its path.
Without -o the image is cached by content under
\${XDG_CACHE_HOME:-\$HOME/.cache}/voidbox/vmtest/, so other VM tests and
benchmarks can boot the very same bytes.
USAGE
}

out=""
while (($#)); do
  case $1 in
    -o) out=${2:?-o needs a path}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: unknown argument: %s\n' "$prog" "$1" >&2; usage >&2; exit 2 ;;
  esac
done

busybox=$(command -v busybox || true)
[[ -n $busybox ]] || { echo "$prog: busybox not found (install busybox-static)" >&2; exit 1; }

if [[ -z $out ]]; then
  key=$(sha256sum "$here/init.sh" "$busybox" "$lib/make-initramfs.sh" | cut -d' ' -f1 |
    sha256sum | cut -c1-16)
  dir=${XDG_CACHE_HOME:-$HOME/.cache}/voidbox/vmtest
  out=$dir/boot-microvm-$key.cpio
  if [[ -f $out ]]; then
    printf '%s\n' "$out"
    exit 0
  fi
fi
"$lib/make-initramfs.sh" -o "$out" --init "$here/init.sh" --busybox "$busybox"
printf '%s\n' "$out"
