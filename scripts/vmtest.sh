#!/usr/bin/env bash
# Runs a command where /dev/kvm can boot stock Linux kernels.
#
# On hosts whose /dev/kvm is PVM (see /work/shared/TESTING-VMS.md) stock
# guest kernels hang, so COMMAND runs inside an "L1" VM emulated by QEMU's TCG
# with -cpu max (which offers AMD SVM): L1 loads kvm-amd and its /dev/kvm runs
# stock kernels. L1 chroots into the host's root file system (virtio-9p, read
# only) so COMMAND sees the same paths and binaries as on the host.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)

usage() {
  cat <<EOF
Usage: $prog [options] [--] COMMAND [ARG...]

Runs COMMAND with a /dev/kvm that boots stock kernels and returns its exit
status. With hardware KVM (no kvm_pvm module; vmx or svm in /proc/cpuinfo)
COMMAND runs directly. Otherwise it runs as root inside a nested L1 VM
(QEMU TCG, Debian kernel from scripts/fetch-kernel.sh, busybox initramfs)
that chroots into the host root, mounted read-only, with these paths
writable (9p shares of the same host directories, so writes land on the host):
  - the repository working tree ($repo)
  - \${XDG_CACHE_HOME:-\$HOME/.cache}/voidbox
  - a fresh scratch directory, exported as TMPDIR and removed afterwards
  - every --share DIR and every directory in VOIDBOX_VMTEST_SHARES (colon list)
  - the working directory, if it is under /tmp, /var/tmp or /run
Inside L1, /tmp, /var/tmp and /run are empty tmpfs (the host's are hidden),
the loopback interface is up, there is no other network, stdin is /dev/null.
COMMAND runs in the caller's working directory with the caller's PATH, HOME,
USER, LANG/LC_*, TZ, TERM, XDG_*_HOME, VOIDBOX_*, VOID_BOX_*, CTEST_*, GTEST_*,
CMAKE_* and SOURCE_DATE_EPOCH variables (plus --env NAME ones), and with
VOIDBOX_VMTEST_INSIDE=nested (or =direct without L1).

Options:
  --timeout S    kill COMMAND (and L1) after S seconds, L1 boot included;
                 default \${VOIDBOX_VMTEST_TIMEOUT:-900}
  --hang-after S L1 writes a heartbeat every 5 s; if none arrives for S
                 seconds (default 180; 60 s more for the first, which
                 waits for L1 to boot) L1 itself has stopped responding
                 (emulation stall), and it is killed: exit 125
  --retries N    boot a fresh L1 up to N more times when L1 itself fails
                 (boot failure or no heartbeat); never when COMMAND fails
                 or times out (default 0)
  --mem MB       L1 memory (default 4096)
  --smp N        L1 vCPUs (default 1: see tests/vm/README.md, "L1 stalls")
  --share DIR    also make DIR writable inside L1 (repeatable)
  --env NAME     also pass environment variable NAME (repeatable)
  --mode M       auto (default), nested (always use L1) or direct;
                 env VOIDBOX_VMTEST_MODE
  --keep-log     keep L1's console log (path printed) even on success
  -v, --verbose  report timings and the L1 console log path on stderr
  -h, --help     this text

Exit status: COMMAND's status; 124 if the timeout expired; 125 if the harness
itself failed (missing QEMU, kernel, 9p support, L1 boot failure, an L1
stall). L1's console log is saved under
\${XDG_CACHE_HOME:-\$HOME/.cache}/voidbox/vmtest/logs and its tail printed
whenever the exit is 124 or 125.

An L1 stall is reported on stderr as "L1 stall: ..." with the kernel's own
report and where each L1 vCPU was: a soft lockup inside L1 prints every
CPU's backtrace and panics L1 at once (softlockup_panic), and a silent L1
(no heartbeat) has its vCPUs' registers read from QEMU's monitor before it
is killed. scripts/vmtest-soak.sh counts stalls over many runs.

Environment: VOIDBOX_VMTEST_QEMU (QEMU binary), VOIDBOX_KERNEL_VERSION
(kernel release for fetch-kernel.sh), VOIDBOX_VMTEST_SHARES,
VOIDBOX_VMTEST_KERNEL_ARGS (appended to L1's kernel command line, e.g.
loglevel=7 to see its boot messages with --keep-log).
EOF
}

msg() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { msg "error: $*"; exit 125; }
usage_error() { msg "$*"; msg "try '$prog --help'"; exit 125; }

timeout_s=${VOIDBOX_VMTEST_TIMEOUT:-900}
hang_s=180
retries=0
mem=4096
# One vCPU: two single-vCPU L1s use two cores better than one L1 with two
# (VM tests run side by side), and L1 has no cross-CPU waits to stretch.
smp=1
mode=${VOIDBOX_VMTEST_MODE:-auto}
keep_log=0
verbose=0
shares=()
extra_env=()
if [[ -n ${VOIDBOX_VMTEST_SHARES:-} ]]; then
  IFS=: read -r -a shares <<<"$VOIDBOX_VMTEST_SHARES"
fi

need_arg() { (($# >= 2)) || usage_error "$1 needs an argument"; }
while (($#)); do
  case $1 in
    --timeout) need_arg "$@"; timeout_s=$2; shift 2 ;;
    --hang-after) need_arg "$@"; hang_s=$2; shift 2 ;;
    --retries) need_arg "$@"; retries=$2; shift 2 ;;
    --mem) need_arg "$@"; mem=$2; shift 2 ;;
    --smp) need_arg "$@"; smp=$2; shift 2 ;;
    --share) need_arg "$@"; shares+=("$2"); shift 2 ;;
    --env) need_arg "$@"; extra_env+=("$2"); shift 2 ;;
    --mode) need_arg "$@"; mode=$2; shift 2 ;;
    --keep-log) keep_log=1; shift ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) usage_error "unknown option: $1" ;;
    *) break ;;
  esac
done
(($#)) || usage_error "no COMMAND given"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout must be a positive integer of seconds"
[[ $hang_s =~ ^[1-9][0-9]*$ ]] || usage_error "--hang-after must be a positive integer of seconds"
[[ $retries =~ ^[0-9]+$ ]] || usage_error "--retries must be a non-negative integer"
[[ $mem =~ ^[1-9][0-9]*$ ]] || usage_error "--mem must be a positive integer (MiB)"
[[ $smp =~ ^[1-9][0-9]*$ ]] || usage_error "--smp must be a positive integer"
case $mode in auto|nested|direct) ;; *) usage_error "--mode must be auto, nested or direct" ;; esac
for name in "${extra_env[@]}"; do
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || usage_error "bad --env name: $name"
done

cache_root=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/voidbox

# Hardware KVM runs stock kernels; PVM does not; no KVM at all still works
# nested because L1 is pure emulation.
hardware_kvm() {
  [[ ! -e /sys/module/kvm_pvm && -c /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo
}
if [[ $mode == auto ]]; then
  if hardware_kvm; then mode=direct; else mode=nested; fi
fi

start_ns=$(date +%s%N)
elapsed() { echo $((($(date +%s%N) - start_ns) / 1000000)); }
# The timeout test relies on this wording.
timeout_msg() { msg "timeout: COMMAND did not finish within ${timeout_s}s; $1"; }

work=""
child=""
watcher=""
tails=()
# shellcheck disable=SC2317 # invoked from traps
cleanup() {
  local pid
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    # QEMU exits on SIGTERM at once; make sure before deleting its files.
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$child" 2>/dev/null || true
  fi
  for pid in "${tails[@]}" $watcher; do kill "$pid" 2>/dev/null || true; done
  [[ -z $work ]] || rm -rf -- "$work"
}
# shellcheck disable=SC2317 # invoked from traps
on_signal() {
  msg "interrupted by SIG$1; stopping"
  trap - EXIT
  cleanup
  trap - "$1"
  kill -s "$1" "$$"
}
trap cleanup EXIT
for sig in INT TERM HUP; do
  # shellcheck disable=SC2064 # expand $sig now: one handler per signal
  trap "on_signal $sig" "$sig"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vmtest.XXXXXX")
chmod 0755 "$work"

# ---------------------------------------------------------------- direct ----
if [[ $mode == direct ]]; then
  mkdir "$work/tmp"
  ((verbose)) && msg "hardware KVM: running COMMAND directly"
  TMPDIR=$work/tmp VOIDBOX_VMTEST_INSIDE=direct \
    timeout -k 10 "$timeout_s" "$@" </dev/null &
  child=$!
  rc=0
  wait "$child" || rc=$?
  child=""
  # timeout(1) also returns 124 when COMMAND itself does; the clock decides.
  if ((rc == 124 || rc == 137)) && (($(elapsed) >= timeout_s * 1000)); then
    timeout_msg "COMMAND killed"
    exit 124
  fi
  exit "$rc"
fi

# ---------------------------------------------------------------- nested ----
qemu=${VOIDBOX_VMTEST_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null ||
  die "$qemu not found: install Debian's qemu-system-x86 (scripts/setup.sh), or run on a host with hardware KVM"
# Captured first: grep -q quitting early would SIGPIPE QEMU under pipefail.
qemu_devices=$("$qemu" -device help 2>/dev/null || true)
[[ $qemu_devices == *'"virtio-9p-pci"'* ]] ||
  die "$qemu has no virtio-9p (VirtFS) support, which L1 needs to see the host's files; install Debian's qemu-system-x86"
for tool in cpio modinfo sha256sum timeout tail; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs cpio, kmod, coreutils)"
done
busybox=$(command -v busybox || true)
[[ -n $busybox ]] || die "busybox not found: install busybox-static (scripts/setup.sh)"

kinfo=$("$here/fetch-kernel.sh" --quiet) ||
  die "cannot get the L1 kernel (scripts/fetch-kernel.sh failed; it needs Debian's archive once, then works offline)"
kval() { sed -n "s/^$1=//p" <<<"$kinfo"; }
krel=$(kval VERSION)
kdir=$(kval KERNEL_DIR)
modtree=$(kval MODULES)
# The uncompressed PVH vmlinux skips the decompressor: ~4 s less under TCG.
kernel=$(kval VMLINUX)
[[ -f $kernel ]] || kernel=$(kval VMLINUZ)
[[ -f $kernel ]] || die "kernel image missing in $kdir; rerun scripts/fetch-kernel.sh --refresh"

# Modules L1 needs, dependencies resolved by make-initramfs (modinfo depends):
# KVM for SVM, virtio-pci + 9p to reach the host's files, vhost-vsock so VMs
# in L1 can have /dev/vhost-vsock.
l1_modules=(kvm-amd virtio_pci 9pnet_virtio 9p vhost_vsock)

# L1's PID 1 (busybox sh). It reads its instructions from the control share,
# so the image depends on nothing per-run and is cached by content.
l1_init_file=$here/vmtest-l1-init.sh
[[ -f $l1_init_file ]] || die "$l1_init_file missing"
l1_init=$(<"$l1_init_file")

l1_cache=$cache_root/vmtest
mkdir -p "$l1_cache"
mkinit=$repo/tests/vm/lib/make-initramfs.sh
[[ -x $mkinit ]] || die "$mkinit missing"
key=$(
  {
    printf '%s\n' "$l1_init" "${l1_modules[*]}"
    cat "$kdir/package.txt"
    sha256sum "$busybox" "$mkinit" "$repo/tests/vm/lib/modules.sh" | cut -d' ' -f1
  } | sha256sum | cut -c1-16
)
initrd=$l1_cache/l1-initramfs-$key.cpio
if [[ ! -f $initrd ]]; then
  ((verbose)) && msg "building L1 initramfs $initrd"
  printf '%s\n' "$l1_init" >"$work/l1-init"
  mod_args=()
  for m in "${l1_modules[@]}"; do mod_args+=(--module "$m"); done
  if ! TMPDIR=$work "$mkinit" -o "$initrd" --init "$work/l1-init" --busybox "$busybox" \
      --modules-tree "$modtree" "${mod_args[@]}" >"$work/mkinit.log" 2>&1; then
    cat "$work/mkinit.log" >&2
    die "cannot build the L1 initramfs (kernel $krel lacks KVM/virtio/9p modules?)"
  fi
  # Old images from other kernels or script versions: drop after a week.
  find "$l1_cache" -maxdepth 1 -name 'l1-initramfs-*.cpio' -mtime +7 -delete 2>/dev/null || true
else
  touch "$initrd"
fi

# L1's text symbols (Debian's System.map is a stub), fetched from L1's own
# /proc/kallsyms the first time this image boots; the addresses are the same
# on every boot of the image (nokaslr, same modules in the same order).
kallsyms=$l1_cache/kallsyms-$key.txt

# Per-run layout: $work/host stays on the host; $work/vm is the control
# share (tag vmtest) and appears at the same path inside L1.
mkdir -p "$work/host" "$work/vm/ctl" "$work/vm/tmp"
ctl=$work/vm/ctl
vmtmp=$work/vm/tmp
printf '%s\n' "$work/vm" >"$ctl/workdir"
[[ -s $kallsyms ]] || : >"$ctl/want-kallsyms"

mkdir -p "$cache_root"
share_list=("$repo" "$cache_root")
# L1 hides the host's /tmp, /var/tmp and /run behind empty tmpfs; a working
# directory there is shared so that COMMAND still starts where it was asked.
cwd_phys=$(pwd -P)
case $cwd_phys/ in
  /tmp/*|/var/tmp/*|/run/*) share_list+=("$cwd_phys") ;;
esac
for s in "${shares[@]}"; do
  [[ -n $s ]] || continue
  [[ -d $s ]] || die "--share $s: not a directory"
  share_list+=("$(cd "$s" && pwd -P)")
done
# Sorted, a parent comes right before its children, which it already covers.
kept=()
while IFS= read -r p; do
  [[ $p != / ]] || die "refusing to make / writable inside L1"
  [[ $p != *$'\n'* ]] || die "share paths must not contain newlines"
  if ((${#kept[@]})); then
    last=${kept[${#kept[@]} - 1]}
    [[ $p == "$last" || $p == "$last"/* ]] && continue
  fi
  kept+=("$p")
done < <(printf '%s\n' "${share_list[@]}" | LC_ALL=C sort -u)

qopt() { printf '%s' "${1//,/,,}"; } # QEMU option values escape ',' as ',,'
# A stalled L1 should say where it stalled and end soon: a soft lockup
# prints every CPU's backtrace and panics (panic=-1 reboots, which reboot=t
# and -no-reboot turn into QEMU's exit) instead of waiting out the heartbeat.
# nokaslr keeps kernel addresses equal to the cached kallsyms' for the
# monitor dump.
l1_cmdline="console=ttyS0 quiet reboot=t panic=-1 mitigations=off cryptomgr.notests nokaslr"
l1_cmdline+=" softlockup_panic=1 softlockup_all_cpu_backtrace=1"
# On a busy host the emulated timer can miss the kernel's boot-time check
# ("IO-APIC + timer doesn't work!", a panic). (Not tsc=reliable: a TSC
# calibrated on a busy host can be far off, and only the clocksource
# watchdog then keeps L1's clock, and so its lockup detector, honest.)
l1_cmdline+=" no_timer_check"
# The stalls' cause: a soft lockup caught L1 zeroing a fresh 2 MiB
# transparent huge page inside the page allocator (Debian: init_on_alloc=1)
# during a KVM page fault of the guest, a loop with no preemption point that
# took the emulated CPU over 20 s. Without init_on_alloc the huge page is
# zeroed by clear_huge_page(), which yields between its 4 KiB pages. Huge
# pages stay: without them L2 boots took 2-3x as long (tests/vm/README.md).
l1_cmdline+=" init_on_alloc=0 ${VOIDBOX_VMTEST_KERNEL_ARGS:-}"
# shellcheck disable=SC2054 # commas separate QEMU sub-options, not elements
# q35 rather than pc: its virtio-pci devices get their interrupts without the
# legacy ACPI PCI-link setup, which costs about 0.5 s per device under TCG.
qemu_args=(
  -name voidbox-vmtest -machine q35 -accel tcg,thread=multi -cpu max
  -smp "$smp" -m "$mem"
  -nodefaults -no-user-config -display none -no-reboot
  -kernel "$kernel" -initrd "$initrd"
  -append "$l1_cmdline"
  -chardev "file,id=con,path=$(qopt "$work/host/console.log")" -serial chardev:con
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -fsdev "local,id=vmtest,path=$(qopt "$work/vm"),security_model=none,multidevs=remap"
  -device virtio-9p-pci,fsdev=vmtest,mount_tag=vmtest
)
# The human monitor says where the vCPUs are when L1 stops responding; a
# Unix socket path must fit sun_path (108 bytes).
monitor_sock=$work/host/monitor.sock
((${#monitor_sock} < 100)) && qemu_args+=(-monitor "unix:$(qopt "$monitor_sock"),server=on,wait=off")
# qboot (QEMU's minimal firmware) reaches the kernel sooner than SeaBIOS.
qboot=/usr/share/qemu/qboot.rom
[[ -f $qboot ]] && qemu_args+=(-bios "$qboot")

share_lines=("vmtest $work/vm")
i=0
for p in "${kept[@]}"; do
  qemu_args+=(-fsdev "local,id=share$i,path=$(qopt "$p"),security_model=none,multidevs=remap"
    -device "virtio-9p-pci,fsdev=share$i,mount_tag=share$i")
  share_lines+=("share$i $p")
  i=$((i + 1))
done
printf '%s\n' "${share_lines[@]}" | LC_ALL=C sort -k2 >"$ctl/shares"

# COMMAND travels as a bash script with every word quoted by printf %q, so
# no argument is ever re-split or expanded (and none goes on a cmdline).
pass_env=()
while IFS= read -r name; do
  case $name in
    PATH|HOME|USER|LOGNAME|LANG|LC_*|TZ|TERM|SOURCE_DATE_EPOCH) ;;
    XDG_CACHE_HOME|XDG_CONFIG_HOME|XDG_DATA_HOME|XDG_STATE_HOME) ;;
    VOIDBOX_*|VOID_BOX_*|CTEST_*|GTEST_*|CMAKE_*) ;;
    *) continue ;;
  esac
  pass_env+=("$name")
done < <(compgen -e)
for name in "${extra_env[@]}"; do
  [[ -v $name ]] && pass_env+=("$name")
done
cwd=$PWD
{
  printf '#!/bin/bash\n# generated by vmtest.sh\n'
  for name in "${pass_env[@]}"; do
    [[ $name == VOIDBOX_VMTEST_INSIDE ]] && continue
    printf 'export %s=%q\n' "$name" "${!name}"
  done
  printf 'export TMPDIR=%q VOIDBOX_VMTEST_INSIDE=nested\n' "$vmtmp"
  printf 'if ! cd -- %q 2>/dev/null; then\n' "$cwd"
  printf '  echo %q >&2\n  exit 125\nfi\n' \
    "vmtest: working directory $cwd is not visible inside L1"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$ctl/cmd.sh"
chmod 0755 "$ctl/cmd.sh"

((verbose)) && msg "L1: kernel $krel, initramfs $initrd, ${smp} vCPUs, ${mem} MiB, timeout ${timeout_s}s"

save_log() {
  local dir=$cache_root/vmtest/logs dest
  mkdir -p "$dir"
  dest=$dir/console-$(date +%Y%m%d-%H%M%S)-$$.log
  cat "$work/host/console.log" >"$dest" 2>/dev/null || true
  # Keep the newest 20 logs.
  find "$dir" -maxdepth 1 -name 'console-*.log' -printf '%T@ %p\n' | sort -rn |
    tail -n +21 | cut -d' ' -f2- | xargs -r rm -f --
  printf '%s' "$dest"
}
# The kernel's own words on a stall: soft lockups, RCU stalls, the RIPs and
# the top frames of their backtraces, and where the monitor saw each vCPU.
stall_report() {
  grep -aE 'soft lockup|RIP: 0010|rcu.*(stall|starved)|blocked for more than|Kernel panic' \
    "$work/host/console.log" 2>/dev/null | head -n 24 | sed 's/^/  | /' >&2 || true
  if [[ -s $work/host/cpu-state.txt ]]; then
    sed 's/^/  | /' "$work/host/cpu-state.txt" >&2
  fi
}
# A soft lockup panics L1 (softlockup_panic=1): QEMU exits with no status.
console_shows_stall() { grep -aq 'soft lockup' "$work/host/console.log" 2>/dev/null; }

show_failure() {
  local log
  log=$(save_log)
  if [[ -s $work/host/qemu.log ]]; then
    msg "QEMU said:"
    sed 's/^/  | /' "$work/host/qemu.log" >&2
  fi
  msg "L1 console log: $log (last lines follow)"
  tail -n 25 "$log" | sed 's/^/  | /' >&2
  if [[ -s $work/host/registers.txt ]]; then
    { echo "--- info registers -a, taken before the kill ---"; cat "$work/host/registers.txt"; } >>"$log"
  fi
}

# Running, and not a zombie waiting to be reaped (kill -0 succeeds on one).
running() { [[ -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]; }
# Seconds since L1's last heartbeat; before the first one, the seconds since
# QEMU started less the boot allowance: a busy host can take L1 longer than
# a short --hang-after to boot, and a boot that stalls in a soft lockup
# panics by itself.
boot_allowance=60
heartbeat_age() {
  if [[ -f $ctl/heartbeat ]]; then
    echo $(($(date +%s) - $(stat -c %Y "$ctl/heartbeat" 2>/dev/null || date +%s)))
  else
    echo $(($(date +%s) - attempt_start - boot_allowance))
  fi
}

# One L1 boot: runs COMMAND and sets qrc (QEMU's status) and hung (1 when
# the heartbeat stopped).
run_l1() {
  local budget=$1 pid
  rm -f "$ctl/status" "$ctl/started" "$ctl/l1-error" "$ctl/heartbeat" "$ctl/heartbeat.pid"
  rm -f "$monitor_sock" "$work/host/cpu-state.txt" "$work/host/registers.txt"
  : >"$ctl/stdout"
  : >"$ctl/stderr"
  : >"$work/host/console.log"
  attempt_start=$(date +%s)
  timeout -k 5 "$budget" "$qemu" "${qemu_args[@]}" </dev/null >"$work/host/qemu.log" 2>&1 &
  child=$!
  # If this script is SIGKILLed (e.g. by a test driver) no trap runs: a
  # watcher stops QEMU and removes the run's files once this shell is gone.
  (
    set +e
    trap '' INT HUP
    trap 'exit 0' TERM
    while kill -0 "$$" 2>/dev/null; do sleep 1; done
    kill -TERM "$child" 2>/dev/null && sleep 2
    kill -KILL "$child" 2>/dev/null
    rm -rf -- "$work"
  ) >/dev/null 2>&1 &
  watcher=$!
  # The files grow over 9p while L1 runs; tail --pid reads them to the end
  # once QEMU has gone, so nothing written before power-off is lost.
  tail -c +1 -s 0.1 --pid="$child" -f "$ctl/stdout" &
  tails+=($!)
  tail -c +1 -s 0.1 --pid="$child" -f "$ctl/stderr" >&2 &
  tails+=($!)

  hung=0
  while running "$child"; do
    if (($(heartbeat_age) > hang_s)); then
      hung=1
      msg "L1 stall: L1 stopped responding (no heartbeat for more than ${hang_s}s); killing it"
      python3 "$here/vmtest-cpu-state.py" --socket "$monitor_sock" \
        --symbols "$kallsyms" --raw "$work/host/registers.txt" \
        >"$work/host/cpu-state.txt" 2>&1 || true
      kill -TERM "$child" 2>/dev/null || true
      break
    fi
    sleep 1
  done
  qrc=0
  wait "$child" || qrc=$?
  child=""
  if [[ -s $ctl/kallsyms && ! -s $kallsyms ]]; then
    mv -f "$ctl/kallsyms" "$kallsyms.tmp" && mv -f "$kallsyms.tmp" "$kallsyms" && rm -f "$ctl/want-kallsyms"
  fi
  kill -TERM "$watcher" 2>/dev/null || true
  watcher=""
  for pid in "${tails[@]}"; do wait "$pid" 2>/dev/null || true; done
  tails=()
}

attempt=1
while :; do
  run_l1 $((timeout_s - $(elapsed) / 1000))
  if [[ -f $ctl/status ]]; then
    rc=$(<"$ctl/status")
    if ((verbose)); then
      msg "L1 booted to COMMAND at uptime $(cut -d' ' -f1 "$ctl/started")s; total $(elapsed) ms; COMMAND status $rc"
    fi
    if ((keep_log)); then msg "L1 console log: $(save_log)"; fi
    exit "$rc"
  fi
  if ((!hung && (qrc == 124 || qrc == 137))); then
    if [[ -f $ctl/started ]]; then
      timeout_msg "L1 and COMMAND killed"
    else
      timeout_msg "L1 did not even reach COMMAND"
    fi
    show_failure
    exit 124
  fi
  if ((hung)); then
    stall_report
  elif console_shows_stall; then
    msg "L1 stall: $(grep -a -m1 'soft lockup' "$work/host/console.log" | sed 's/^\[[^]]*\] //')"
    stall_report
  elif [[ -s $ctl/l1-error ]]; then
    msg "error: L1 setup failed: $(<"$ctl/l1-error")"
  else
    msg "error: L1 stopped (QEMU status $qrc) before COMMAND reported a status"
  fi
  show_failure
  # A fresh L1 only helps if there is time left for a real attempt.
  if ((attempt > retries || timeout_s - $(elapsed) / 1000 < 60)); then
    exit 125
  fi
  attempt=$((attempt + 1))
  msg "retrying in a fresh L1 (attempt $attempt of $((retries + 1))); COMMAND starts again from scratch"
done
