#!/usr/bin/env bash
# VM tests of the KVM backend: boots Debian's stock kernel with voidbox-vmm and
# checks what the guest reports on its console and how the VM ends.
#
#   run-vm-test.sh CASE        (needs a /dev/kvm that boots stock kernels:
#                               run it through scripts/vmtest.sh)
#
# CASE:
#   boot      vcpus 2, memory_mb 4096 (two memslots): /init is reached (boot
#             port and console marker), the guest counts 2 CPUs, the kernel's
#             RAM total matches the configured size, power-off ends the VM with
#             status 0 "poweroff"
#   reboot    guest `reboot -f`: the kernel logs the restart it was asked
#             for, status 10 "reboot"
#   panic     guest `echo c > /proc/sysrq-trigger`: status 11 "panic"
#   stop      SIGTERM to a running VM: status 12 "stopped", within 5 s (the
#             VMM's own vCPU join bound is 2 s; emulation adds the rest)
#   vsock     64 MiB both ways between a host program and a guest program over
#             the hybrid vsock socket, checked by SHA-256
#   blk       the virtio-blk device plugin serves a disk image: the guest
#             sees its size and serial, reads 4 MiB the host wrote and
#             writes 1 MiB the host reads back, both checked by SHA-256
#   blk-broken-plugins
#             blk with the broken plugin fixtures of tests/plugins
#             ($BROKEN_PLUGIN_DIR) on VOIDBOX_PLUGIN_PATH: the VMM refuses the
#             broken device plugins, says why in its log, and boots with blk
#
# Env: VOIDBOX_BUILD_DIR (default: ../../../build), VOIDBOX_VMM (voidbox-vmm).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
build=${VOIDBOX_BUILD_DIR:-$repo/build}
vmm=${VOIDBOX_VMM:-$build/bin/voidbox-vmm}
case_name=${1:?usage: run-vm-test.sh boot|reboot|panic|stop|vsock|blk|prebuild DIR}

pid=""
# Running and not a zombie (kill -0 also succeeds on an unreaped child).
alive() { [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
fail() {
  printf 'FAIL [%s]: %s\n' "$case_name" "$*" >&2
  if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  dump
  exit 1
}
note() { printf '[%s] %s\n' "$case_name" "$*" >&2; }

[[ -x $vmm ]] || { echo "voidbox-vmm not found at $vmm (set VOIDBOX_BUILD_DIR)" >&2; exit 1; }
[[ -e /dev/kvm ]] || { echo "no /dev/kvm; run through scripts/vmtest.sh" >&2; exit 1; }

# Bash process substitution needs /dev/fd, which a bare devtmpfs (as in the
# nested harness's L1) lacks.
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd 2>/dev/null || true
eval "$("$repo/scripts/fetch-kernel.sh" --quiet)"
# The state dir holds a Unix socket, so it must be on a local file system
# (binding one on virtio-9p fails with ENXIO, and the harness's TMPDIR is a
# 9p share; its /tmp is tmpfs). VBTEST_KEEP_DIR: copy the run's logs there.
work=$(mktemp -d /tmp/kvm-vm-test.XXXXXX)
cleanup() {
  if [[ -n ${VBTEST_KEEP_DIR:-} ]]; then
    local keep=$VBTEST_KEEP_DIR/kvm-vm-test-$case_name
    mkdir -p "$keep" && cp -f "$work"/state/*.log "$work"/state/*.json "$keep"/ 2>/dev/null
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT
state=$work/state
mkdir -p "$state"
serial=$state/serial.log

dump() {
  [[ -f $serial ]] && { echo "--- serial log (tail) ---" >&2; tail -n 40 "$serial" >&2; }
  [[ -f $state/vmm.log ]] && { echo "--- vmm log ---" >&2; cat "$state/vmm.log" >&2; }
  [[ -f $state/exit.json ]] && { echo "--- exit.json ---" >&2; cat "$state/exit.json" >&2; }
  return 0
}

# The test initramfs: busybox and the test /init, plus per kind (plain, vsock,
# blk) the modules and guest helper that kind of test needs.
make_test_initramfs() {  # KIND OUT
  local extras=()
  case $1 in
    vsock)
      extras=(--modules-tree "$MODULES" --module virtio_mmio --module vmw_vsock_virtio_transport
        --file "$VSOCK_GUEST_BIN:/vbtest-vsock" --file "$here/vsock-guest-extra.sh:/vbtest-extra") ;;
    blk | blk-broken-plugins)
      extras=(--modules-tree "$MODULES" --module virtio_mmio --module virtio_blk
        --file "$here/blk-guest-extra.sh:/vbtest-extra") ;;
  esac
  "$repo/tests/vm/lib/make-initramfs.sh" -o "$2" --init "$here/init.sh" "${extras[@]}"
}

if [[ $case_name == prebuild ]]; then
  out=${2:?usage: run-vm-test.sh prebuild DIR}
  mkdir -p "$out"
  for kind in plain vsock blk; do make_test_initramfs "$kind" "$out/$kind.cpio"; done
  exit 0
fi

memory_mb=512
vcpus=1
action=poweroff
case $case_name in
  boot) memory_mb=4096; vcpus=2 ;;
  reboot) action=reboot ;;
  panic) action=panic ;;
  stop) action=hang ;;
  vsock) memory_mb=1024; action=poweroff ;;
  blk | blk-broken-plugins) ;;
  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac
# VBTEST_PREBUILT_DIR: take <kind>.cpio from there (built by
# `run-vm-test.sh prebuild DIR` outside the harness, where it is much faster).
kind=plain
[[ $case_name == vsock || $case_name == blk ]] && kind=$case_name
[[ $case_name == blk-broken-plugins ]] && kind=blk
if [[ -n ${VBTEST_PREBUILT_DIR:-} && -f $VBTEST_PREBUILT_DIR/$kind.cpio ]]; then
  cp "$VBTEST_PREBUILT_DIR/$kind.cpio" "$work/initramfs.cpio"
else
  make_test_initramfs "$kind" "$work/initramfs.cpio"
fi

devices=""
if [[ $case_name == blk* ]]; then
  # 8 MiB: 4 MiB of host data the guest hashes, then room for its write.
  disk=$work/disk.img
  head -c 4194304 /dev/urandom >"$disk"
  truncate -s 8M "$disk"
  host_sha=$(head -c 4194304 "$disk" | sha256sum | cut -d' ' -f1)
  devices=',"devices":[{"type":"virtio-blk","config":{"path":"'$disk'","id":"vbtest-disk","read_only":false}}]'
fi
cat >"$state/vm.json" <<EOT
{"name":"kvm-vm-test-$case_name","kernel":"$VMLINUZ","initramfs":"$work/initramfs.cpio",
 "memory_mb":$memory_mb,"vcpus":$vcpus,"state_dir":"$state","serial_log":"$serial",
 "vsock_cid":3,"cmdline":"vbtest.action=$action"$devices}
EOT

if [[ $case_name == blk-broken-plugins ]]; then
  export VOIDBOX_PLUGIN_PATH=${BROKEN_PLUGIN_DIR:?needs the plugin fixture directory}
fi
start_ns=$(date +%s%N)
"$vmm" "$state/vm.json" >"$state/vmm.log" 2>&1 &
pid=$!

wait_for_line() {  # PATTERN TIMEOUT_S
  local deadline=$((SECONDS + $2))
  until grep -q -- "$1" "$serial" 2>/dev/null; do
    alive "$pid" || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

if [[ $case_name == stop ]]; then
  wait_for_line VBTEST-ACTION=hang 300 || fail "guest never reached its idle loop"
  t0=$(date +%s%N)
  kill -TERM "$pid"
fi
if [[ $case_name == vsock ]]; then
  wait_for_line VBTEST-VSOCK-LISTENING 300 || fail "guest vsock program never listened"
  "$VSOCK_HOST_BIN" "$state/vsock.sock" || fail "host side of the vsock transfer failed"
fi

# Bounded: a guest that never ends its VM fails the test instead of hanging it.
deadline=$((SECONDS + 240))
while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
alive "$pid" && fail "the VM did not end within 240 s"
set +e
wait "$pid"
status=$?
set -e
end_ns=$(date +%s%N)
note "voidbox-vmm exited with $status after $(((end_ns - start_ns) / 1000000)) ms"

# The VMM is one process: once it has exited, no thread of it can remain.
if [[ -e /proc/$pid ]]; then fail "voidbox-vmm still exists after wait"; fi
if pgrep -f -- "$state/vm.json" >/dev/null; then fail "a process still runs with this VM's config"; fi

reason=$(sed -n 's/.*"reason":"\([^"]*\)".*/\1/p' "$state/exit.json")
grep -q VBTEST-INIT-REACHED "$serial" || fail "guest /init marker not on the console"
ready_ms=$(sed -n 's/.*"guest_ready_ms":\([-0-9.]*\).*/\1/p' "$state/vmm-stats.json")
[[ -n $ready_ms && $ready_ms != -1 ]] || fail "the boot-ready port write was not recorded"
note "guest init reached ${ready_ms} ms after VMM start"

expect() {  # STATUS REASON
  [[ $status == "$1" ]] || fail "exit status $status, expected $1"
  [[ $reason == "$2" ]] || fail "reported reason '$reason', expected '$2'"
}

case $case_name in
  boot)
    expect 0 poweroff
    grep -q '^VBTEST-NPROC=2' "$serial" || fail "guest nproc is not 2"
    grep -q '^VBTEST-CPUINFO=2' "$serial" || fail "guest /proc/cpuinfo does not list 2 CPUs"
    # The e820 map must hand the kernel all configured RAM except the legacy
    # hole (0x9fc00-0x100000) and page 0: "Memory: avail/totalK available".
    total_k=$(sed -n 's/^VBTEST-E820 Memory: [0-9]*K\/\([0-9]*\)K available.*/\1/p' "$serial")
    [[ -n $total_k ]] || fail "guest did not report the kernel's RAM total"
    memtotal=$(sed -n 's/^VBTEST-MEMTOTAL-KB=\([0-9]*\).*/\1/p' "$serial")
    want=$((memory_mb * 1024))
    note "MemTotal ${memtotal} kB of ${want} kB configured (e820 total ${total_k} kB)"
    ((total_k > want - 1024 && total_k <= want)) || fail "kernel sees ${total_k} kB of RAM, configured ${want} kB"
    # MemTotal excludes what the kernel reserves for itself: its image, the
    # page array (64 B per 4 KiB page = 1.6 %) and the 64 MiB swiotlb it
    # allocates when RAM crosses 4 GiB. 5 % covers those and nothing else: a
    # lost memslot (1 GiB above 4 GiB) would be 25 %.
    ((memtotal * 100 >= want * 95 && memtotal <= want)) || fail "MemTotal ${memtotal} kB is not within 5 % of ${want} kB"
    ;;
  reboot)
    expect 10 reboot
    # The guest itself asked: its /init chose the action, and the kernel
    # logged the restart (pr_emerg, so even `quiet` shows it).
    grep -q '^VBTEST-ACTION=reboot' "$serial" || fail "guest /init did not take the reboot action"
    grep -q 'reboot: Restarting system' "$serial" || fail "the guest kernel never logged a restart"
    grep -q 'VBTEST-ACTION-DID-NOT-END-VM' "$serial" && fail "reboot -f returned in the guest"
    ;;
  panic)
    expect 11 panic
    grep -q "Kernel panic" "$serial" || fail "no panic message on the console"
    ;;
  stop)
    expect 12 stopped
    stop_ms=$(((end_ns - t0) / 1000000))
    note "stopped ${stop_ms} ms after SIGTERM"
    grep -h "teardown:" "$state/vmm.log" >&2 || true
    # voidbox-vmm bounds its vCPU joins at 2 s and then exits regardless; on
    # a real host the whole stop takes tens of ms, but under the nested
    # harness's emulation (and a loaded machine) it can take seconds.
    ((stop_ms < 5000)) || fail "teardown took ${stop_ms} ms"
    ;;
  vsock)
    expect 0 poweroff
    grep -q VBTEST-VSOCK-OK "$serial" || fail "guest side of the vsock transfer did not succeed"
    ;;
  blk)
    expect 0 poweroff
    grep -q VBTEST-INSMOD-FAILED "$serial" && fail "a virtio module did not load"
    grep -q VBTEST-BLK-MISSING "$serial" && fail "no /dev/vda in the guest"
    field() { sed -n "s/^VBTEST-BLK-$1=//p" "$serial" | tr -d '\r'; }
    [[ $(field SECTORS) == 16384 ]] || fail "guest sees $(field SECTORS) sectors, expected 16384 (8 MiB)"
    [[ $(field SERIAL) == vbtest-disk ]] || fail "guest sees serial '$(field SERIAL)', expected vbtest-disk"
    [[ $(field SHA) == "$host_sha" ]] || fail "guest read different data than the host wrote"
    grep -q VBTEST-BLK-WRITTEN "$serial" || fail "guest write to /dev/vda failed"
    back=$(dd if="$disk" bs=4096 skip=1536 count=256 status=none | sha256sum | cut -d' ' -f1)
    [[ $back == "$(field GUEST-SHA)" ]] || fail "the disk image does not hold what the guest wrote"
    note "virtio-blk: 4 MiB read and 1 MiB write checked"
    if [[ $case_name == blk-broken-plugins ]]; then
      refused() {
        grep -qF "plugin: skipping $BROKEN_PLUGIN_DIR/$1: $2" "$state/vmm.log" ||
          fail "vmm.log does not say why $1 was refused ($2)"
      }
      refused libdevice-fixture-x-null-entry.so \
        "device 'fixture-null-entry' rejected: device vtable has a null 'queue_notify'"
      refused libdevice-fixture-x-abi-major.so "ABI major version 2 does not match"
      refused libdevice-fixture-x-misnamed.so "plugin name 'device-fixture-other' does not match"
      refused libdevice-fixture-x-init-fails.so "init failed (unsupported)"
      grep -q "libfixture-" "$state/vmm.log" && fail "the VMM opened a library that is no device plugin"
      note "broken device plugins refused with their reasons; the VM booted without them"
    fi
    ;;
esac
note "PASS"
