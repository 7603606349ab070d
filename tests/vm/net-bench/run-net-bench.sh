#!/usr/bin/env bash
# Builds the net-bench initramfs (virtio_mmio, virtio_net and its
# dependencies, the guest client) and runs `voidbox-bench net` on it. Fails
# on a FAIL line, when the bench exits non-zero, or when a figure has no
# verdict line at all. The report is also kept in
# $VOIDBOX_BUILD_DIR/bench/net.txt.
#   run-net-bench.sh VOIDBOX_BENCH NET_BENCH_GUEST [bench args...]
#
# It runs in a network namespace of its own (as root; otherwise in the
# caller's): the bench's server listens on that namespace's loopback, and
# the loopback gets a default route, because passt takes its template
# interface from the default route and refuses to start without one (the
# nested harness's L1 has no other interface).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
bench=${1:?usage: run-net-bench.sh VOIDBOX_BENCH NET_BENCH_GUEST [args]}
guest_bin=${2:?usage: run-net-bench.sh VOIDBOX_BENCH NET_BENCH_GUEST [args]}
if [[ -z ${NET_BENCH_NETNS:-} && $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
  exec unshare --net env NET_BENCH_NETNS=1 "$0" "$@"
fi
shift 2
if [[ -n ${NET_BENCH_NETNS:-} ]]; then
  ip link set lo up
  ip route add default dev lo
fi
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd 2>/dev/null || true
eval "$("$repo/scripts/fetch-kernel.sh" --quiet)"
# The VMM's sockets and the console FIFOs must be on a local file system
# (the harness's TMPDIR is a 9p share; its /tmp is tmpfs).
work=$(mktemp -d /tmp/net-bench.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
"$repo/tests/vm/lib/make-initramfs.sh" -o "$work/net-bench.cpio" --init "$here/net-bench-init.sh" \
  --modules-tree "$MODULES" --module virtio_mmio --module virtio_net \
  --file "$guest_bin:/net-bench-guest"
vmm_args=()
[[ -n ${VOIDBOX_VMM:-} ]] && vmm_args=(--vmm "$VOIDBOX_VMM")
report=${VOIDBOX_BUILD_DIR:-$repo/build}/bench/net.txt
mkdir -p "$(dirname "$report")"
rc=0
"$bench" net --kernel "$VMLINUZ" --initramfs "$work/net-bench.cpio" --work-dir "$work" \
  "${vmm_args[@]}" "$@" | tee "$report" || rc=$?
if grep -q '^FAIL ' "$report"; then
  grep '^FAIL ' "$report" >&2
  echo "run-net-bench.sh: a figure missed its target or was not measured (report: $report)" >&2
  exit 1
fi
((rc == 0)) || { echo "run-net-bench.sh: voidbox-bench exited $rc (report: $report)" >&2; exit 1; }
for figure in g2h-time h2g-time crr-p50 crr-p99; do
  for peer in qemu-libslirp qemu-passt; do
    grep -Eq "^(OK|NOISE|NOT JUDGED) net-$figure-vs-$peer: " "$report" ||
      { echo "run-net-bench.sh: no verdict for net-$figure-vs-$peer (report: $report)" >&2; exit 1; }
  done
done
