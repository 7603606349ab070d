#!/usr/bin/env bash
# VM test of the guest image: QEMU microvm (KVM) boots the stock Debian kernel
# with the VoidBox initramfs (the agent as /init); a Python client on the host
# side speaks the protocol over vhost-vsock and checks handshake, exec,
# concurrency, files, policy, telemetry and shutdown.
#
# Needs a /dev/kvm that boots stock kernels and root (to load vhost_vsock):
# run it through scripts/vmtest.sh.
#   Env: VOIDBOX_GUEST_AGENT (agent binary), default build*/bin.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
fail() { printf 'FAIL [guest-agent-vm]: %s\n' "$*" >&2; [[ -f ${log:-} ]] && tail -n 40 "$log" >&2; exit 1; }
note() { printf '[guest-agent-vm] %s\n' "$*" >&2; }

[[ -e /dev/kvm ]] || fail "no /dev/kvm; run through scripts/vmtest.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found"

eval "$("$repo/scripts/fetch-kernel.sh" --quiet)"
if [[ ! -d /sys/module/vhost_vsock ]]; then
  # The host side of virtio-vsock lives in the kernel running QEMU (L1 in the
  # harness); its modules come from the same fetched tree. (/dev/vhost-vsock
  # may exist as an autoload node even when the module is not loaded.)
  [[ $(uname -r) == "$VERSION" ]] || fail "vhost_vsock not loaded and running kernel $(uname -r) is not $VERSION"
  modprobe -d "$MODULES_ROOT" vhost_vsock || fail "cannot load vhost_vsock"
fi
for _ in $(seq 50); do [[ -e /dev/vhost-vsock ]] && break; sleep 0.1; done
[[ -e /dev/vhost-vsock ]] || fail "/dev/vhost-vsock did not appear"

image_out=$("$repo/scripts/build-guest-image.sh" --quiet ${VOIDBOX_GUEST_AGENT:+--agent "$VOIDBOX_GUEST_AGENT"})
initramfs=$(sed -n 's/^INITRAMFS=//p' <<<"$image_out")
[[ -f $initramfs ]] || fail "image build did not produce an initramfs"

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-agent-vm.XXXXXX")
log=$work/serial.log
qemu_pid=""
cleanup() { [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
cid=$((100 + RANDOM % 10000))
t0=$(date +%s%N)
qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 512 -smp 1 \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$VMLINUZ" -initrd "$initramfs" \
  -append "console=ttyS0 quiet reboot=t panic=-1 voidbox.secret=$secret voidbox.clock=$(date +%s)" \
  -device vhost-vsock-device,guest-cid=$cid \
  -serial "file:$log" </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!

python3 "$here/vsock_client.py" "$cid" "$secret" "$VERSION" || fail "protocol checks failed"

# Shutdown was acknowledged: the agent syncs and powers off, so QEMU exits,
# with status 0, and the kernel did not panic on the way (an agent that
# exits or crashes as PID 1 panics the kernel, which with panic=-1 and
# -no-reboot also ends QEMU).
for _ in $(seq 300); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$qemu_pid" 2>/dev/null; then fail "VM still running 30 s after Shutdown"; fi
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
((qemu_rc == 0)) || fail "QEMU exited with status $qemu_rc: $(tail -n 5 "$work/qemu.out")"
if grep -q 'Kernel panic' "$log"; then fail "the guest kernel panicked: $(grep -m1 'Kernel panic' "$log")"; fi
grep -q 'reboot: Power down' "$log" || fail "the guest never powered down (no 'reboot: Power down' on the console)"
note "VM powered off; total $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# PID 1 logs to /dev/kmsg only; nothing of ours may reach the console except
# kernel-formatted kmsg records.
if grep -v '^\[' "$log" | grep -q 'voidbox-agent'; then fail "agent wrote to the console directly"; fi
note "PASS"
