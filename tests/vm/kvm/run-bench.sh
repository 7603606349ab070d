#!/usr/bin/env bash
# Builds the bench initramfs and runs `voidbox-bench boot` on it. The report
# is also kept in $VOIDBOX_BUILD_DIR/bench/boot.txt (ctest shows a passing
# test's output only with -V).
#   run-bench.sh VOIDBOX_BENCH [bench args...]   e.g. --iters 5 --memory 512
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
bench=${1:?usage: run-bench.sh VOIDBOX_BENCH [args]}
shift
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd 2>/dev/null || true
eval "$("$repo/scripts/fetch-kernel.sh" --quiet)"
work=$(mktemp -d "${TMPDIR:-/tmp}/kvm-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
"$repo/tests/vm/lib/make-initramfs.sh" -o "$work/bench.cpio" --init "$here/bench-init.sh"
vmm_args=()
[[ -n ${VOIDBOX_VMM:-} ]] && vmm_args=(--vmm "$VOIDBOX_VMM")
report=${VOIDBOX_BUILD_DIR:-$repo/build}/bench/boot.txt
mkdir -p "$(dirname "$report")"
"$bench" boot --kernel "$VMLINUZ" --initramfs "$work/bench.cpio" "${vmm_args[@]}" "$@" | tee "$report"
