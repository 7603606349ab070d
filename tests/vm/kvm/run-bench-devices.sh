#!/usr/bin/env bash
# Builds the device-bench initramfs (virtio-blk and vsock modules, the vsock
# echo program) and runs `voidbox-bench devices` on it. The report is also
# kept in $VOIDBOX_BUILD_DIR/bench/devices.txt.
#   run-bench-devices.sh VOIDBOX_BENCH VSOCK_GUEST_BIN [bench args...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
bench=${1:?usage: run-bench-devices.sh VOIDBOX_BENCH VSOCK_GUEST_BIN [args]}
guest_bin=${2:?usage: run-bench-devices.sh VOIDBOX_BENCH VSOCK_GUEST_BIN [args]}
shift 2
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd 2>/dev/null || true
eval "$("$repo/scripts/fetch-kernel.sh" --quiet)"
# The disk image and the vsock socket must be on a local file system (the
# harness's TMPDIR is a 9p share; its /tmp is tmpfs).
work=$(mktemp -d /tmp/kvm-bench-devices.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
"$repo/tests/vm/lib/make-initramfs.sh" -o "$work/bench.cpio" --init "$here/bench-devices-init.sh" \
  --modules-tree "$MODULES" --module virtio_mmio --module virtio_blk \
  --module vmw_vsock_virtio_transport --file "$guest_bin:/vbtest-vsock"
vmm_args=()
[[ -n ${VOIDBOX_VMM:-} ]] && vmm_args=(--vmm "$VOIDBOX_VMM")
report=${VOIDBOX_BUILD_DIR:-$repo/build}/bench/devices.txt
mkdir -p "$(dirname "$report")"
"$bench" devices --kernel "$VMLINUZ" --initramfs "$work/bench.cpio" --work-dir "$work" \
  "${vmm_args[@]}" "$@" | tee "$report"
