#!/usr/bin/env bash
# VM test: QEMU's microvm machine boots the stock Debian kernel (from
# scripts/fetch-kernel.sh) on /dev/kvm to a busybox /init, which echoes a
# per-run nonce. Needs no VoidBox code; it is the baseline later VM tests
# compare their own boot times against.
set -euo pipefail

prog=boot-qemu-microvm
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)

usage() {
  cat <<EOF
Usage: ${0##*/} [--timeout S] [--kernel FILE] [--initramfs FILE] [--append ARGS] [--keep-log]

Boots QEMU -M microvm,acpi=on -enable-kvm -cpu host -m 256 with the fetched
Debian kernel and the test initramfs, and checks that the console shows
"VOIDBOX-GUEST-MARKER <nonce>" for this run's random nonce and that QEMU
exits by itself (guest reboot -f -> triple fault -> -no-reboot exit).
Prints the wall time from QEMU start to exit as "boot_wall_ms=<n>".

Needs a /dev/kvm that runs stock kernels; on a PVM host run it through
scripts/vmtest.sh. Exit status: 0 pass, 1 fail, 77 skipped (no usable KVM).

  --timeout S       give up after S seconds (default 120)
  --kernel FILE     kernel to boot (default: VOIDBOX_TEST_KERNEL or the
                    bzImage from scripts/fetch-kernel.sh)
  --initramfs FILE  initramfs (default: build-initramfs.sh's cached image)
  --append ARGS     extra kernel command line (default: VOIDBOX_TEST_KERNEL_ARGS);
                    e.g. initcall_blacklist=cmos_init,i8042_init saves seconds
                    of device probing in the nested harness. Compare VMMs only
                    with the same ARGS.
  --keep-log        print the guest console log even on success
EOF
}

timeout_s=120 kernel=${VOIDBOX_TEST_KERNEL:-} initrd="" keep_log=0
extra_args=${VOIDBOX_TEST_KERNEL_ARGS:-}
while (($#)); do
  case $1 in
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --kernel) kernel=${2:?}; shift 2 ;;
    --initramfs) initrd=${2:?}; shift 2 ;;
    --append) extra_args=${2?}; shift 2 ;;
    --keep-log) keep_log=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$prog: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

fail() { echo "$prog: FAIL: $*" >&2; exit 1; }
skip() { echo "$prog: SKIP: $*" >&2; exit 77; }

if [[ -e /sys/module/kvm_pvm ]]; then
  skip "/dev/kvm is PVM, which cannot boot a stock kernel; run via scripts/vmtest.sh"
fi
[[ -c /dev/kvm ]] || skip "no /dev/kvm"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (install qemu-system-x86)"

if [[ -z $kernel ]]; then
  kinfo=$("$repo/scripts/fetch-kernel.sh" --quiet) || fail "scripts/fetch-kernel.sh failed"
  kernel=$(sed -n 's/^VMLINUZ=//p' <<<"$kinfo")
fi
[[ -f $kernel ]] || fail "kernel not found: $kernel"
if [[ -z $initrd ]]; then
  initrd=$("$here/build-initramfs.sh") || fail "cannot build the initramfs"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/boot-qemu-microvm.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
log=$work/console.log
nonce=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
# quiet: every console byte is an emulated port write; in the nested harness
# printing the full boot log costs tens of seconds.
cmdline="console=ttyS0 quiet reboot=t panic=-1${extra_args:+ $extra_args}"

start=$(date +%s%N)
rc=0
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
  -M microvm,acpi=on -enable-kvm -cpu host -m 256 -smp 1 \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$kernel" -initrd "$initrd" \
  -append "$cmdline voidbox.nonce=$nonce" \
  -serial "file:$log" </dev/null >"$work/qemu.out" 2>&1 || rc=$?
wall_ms=$((($(date +%s%N) - start) / 1000000))

show_log() {
  echo "--- QEMU output:" >&2
  cat "$work/qemu.out" >&2
  echo "--- guest console (last 40 lines):" >&2
  tail -n 40 "$log" >&2 || true
}
if ((rc == 124 || rc == 137)); then
  show_log
  fail "QEMU did not exit within ${timeout_s}s (guest hung or did not reboot)"
fi
if ((rc != 0)); then
  show_log
  fail "QEMU exited with status $rc"
fi
# The serial console ends lines with CR LF.
tr -d '\r' <"$log" >"$work/console.txt"
if ! grep -qx "VOIDBOX-GUEST-MARKER $nonce" "$work/console.txt"; then
  show_log
  fail "the guest never printed the marker with this run's nonce"
fi
((keep_log)) && cat "$log"
uptime=$(sed -n 's/^VOIDBOX-GUEST-UPTIME //p' "$log" | tr -d '\r')
echo "$prog: PASS: kernel $(basename "$kernel"), marker seen"
echo "kernel_cmdline=$cmdline"
echo "boot_wall_ms=$wall_ms"
echo "guest_uptime_at_init_s=${uptime:-unknown}"
