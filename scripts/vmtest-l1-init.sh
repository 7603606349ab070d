#!/bin/sh
# PID 1 of the vmtest L1 VM (busybox sh), packed into L1's initramfs by
# scripts/vmtest.sh. Everything per-run (shares, the command, where its
# output goes) comes from the control share, mounted at /vmtest.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The kernel's soft-lockup and hung-task reports print their backtraces at
# warning level, which "quiet" hides; they are what says where L1 stalled.
echo 5 >/proc/sys/kernel/printk

ctl=/vmtest/ctl
o9p=trans=virtio,version=9p2000.L,msize=262144
halt_l1() {
  sync
  # reboot=t on the command line makes this a triple fault; QEMU runs with
  # -no-reboot, so it exits instead of resetting.
  reboot -f
  while :; do sleep 60; done
}
fail() {
  echo "vmtest-l1: error: $*"
  [ -d "$ctl" ] && echo "$*" >"$ctl/l1-error"
  halt_l1
}

# Module parameters come from the kernel command line as MODULE.PARAM=VALUE,
# the way modprobe would pass them (insmod alone ignores the command line),
# e.g. kvm_amd.npt=0 through VOIDBOX_VMTEST_KERNEL_ARGS.
read -r cmdline </proc/cmdline
module_params() {
  name=$(basename "$1" .ko | tr - _)
  for word in $cmdline; do
    case $word in "$name".*=*) printf '%s ' "${word#"$name".}" ;; esac
  done
}
while read -r m; do
  # shellcheck disable=SC2046 # one word per parameter
  insmod "/lib/modules/$m" $(module_params "$m") || fail "insmod $m $(module_params "$m")failed"
done </lib/modules/load-order
mkdir -p /vmtest /mnt/root
mount -t 9p -o "$o9p" vmtest /vmtest || fail "cannot mount the control share over virtio-9p"
# The host reads a stale heartbeat as an L1 that has stopped responding (a
# stalled emulation) and gives up early instead of waiting for the timeout.
(while :; do cat /proc/uptime >"$ctl/heartbeat"; sleep 5; done) &
echo $! >"$ctl/heartbeat.pid"
# The host asks once per L1 image for the kernel's symbols, to name the
# functions where a later stalled L1 was found (nokaslr keeps them valid).
[ -f "$ctl/want-kallsyms" ] && grep ' [tT] ' /proc/kallsyms >"$ctl/kallsyms"
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd (does QEMU's CPU model offer svm?)"
mount -t 9p -o "ro,$o9p,cache=loose" hostroot /mnt/root || fail "cannot mount the host root over virtio-9p"
ip link set lo up 2>/dev/null

r=/mnt/root
mount -t proc proc $r/proc || fail "mount proc in the chroot"
mount -t sysfs sysfs $r/sys || fail "mount sysfs in the chroot"
mount -t devtmpfs devtmpfs $r/dev || fail "mount devtmpfs in the chroot"
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts $r/dev/pts
ln -sf pts/ptmx $r/dev/ptmx
# devtmpfs lacks the links udev would make; bash's <(...) needs /dev/fd.
ln -sfn /proc/self/fd $r/dev/fd
ln -sfn /proc/self/fd/0 $r/dev/stdin
ln -sfn /proc/self/fd/1 $r/dev/stdout
ln -sfn /proc/self/fd/2 $r/dev/stderr
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
for d in /tmp /var/tmp; do
  mount -t tmpfs -o mode=1777 tmpfs "$r$d" || fail "mount tmpfs on $d"
done
mount -t tmpfs -o mode=0755 tmpfs $r/run || fail "mount tmpfs on /run"

# Writable shares, parents first: "tag path" per line. The control share is
# mounted once (a virtio-9p channel serves one mount) and bound at its path.
while IFS= read -r line; do
  tag=${line%% *}
  path=${line#* }
  mkdir -p "$r$path" 2>/dev/null
  if [ "$tag" = vmtest ]; then
    mount -o bind /vmtest "$r$path" || fail "cannot bind the scratch directory at $path"
  else
    # cache=mmap: writable shared mmap (linkers, databases) needs it.
    mount -t 9p -o "$o9p,cache=mmap" "$tag" "$r$path" || fail "cannot mount share $path"
  fi
done <"$ctl/shares"

read -r work <"$ctl/workdir"
cat /proc/uptime >"$ctl/started"
chroot $r /usr/bin/env -i /bin/bash --noprofile --norc "$work/ctl/cmd.sh" \
  </dev/null >>"$ctl/stdout" 2>>"$ctl/stderr"
echo $? >"$ctl/status.tmp"
mv "$ctl/status.tmp" "$ctl/status"
halt_l1
