#!/usr/bin/env bash
# Builds the bench initramfs and runs `voidbox-bench boot` on it, and fails
# when a figure misses its target by more than its noise margin. The report
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
rc=0
"$bench" boot --kernel "$VMLINUZ" --initramfs "$work/bench.cpio" "${vmm_args[@]}" "$@" |
  tee "$report" || rc=$?
# A figure over its target by more than its noise margin prints a FAIL line
# (and makes the bench exit non-zero): either fails this test.
if grep -q '^FAIL ' "$report"; then
  grep '^FAIL ' "$report" >&2
  echo "run-bench.sh: a figure missed its target (report: $report)" >&2
  exit 1
fi
((rc == 0)) || { echo "run-bench.sh: voidbox-bench exited $rc" >&2; exit 1; }
grep -q '^OK \|^NOISE ' "$report" || { echo "run-bench.sh: no figure was judged" >&2; exit 1; }
