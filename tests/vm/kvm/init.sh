#!/bin/sh
# /init of the KVM backend's test VMs. Signals "init reached" on the VMM's
# boot-ready port, prints what the tests check on the console, then ends the
# VM the way the kernel command line's vbtest.action= asks.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys

# Boot-ready port 0x3f0 (1008): the VMM timestamps the first write.
printf '\001' | dd of=/dev/port bs=1 seek=1008 count=1 2>/dev/null

echo "VBTEST-INIT-REACHED"
echo "VBTEST-NPROC=$(nproc)"
echo "VBTEST-CPUINFO=$(grep -c ^processor /proc/cpuinfo)"
echo "VBTEST-E820 $(dmesg | grep -o 'Memory: [0-9]*K/[0-9]*K available' | head -n 1)"
echo "VBTEST-MEMTOTAL-KB=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"

action=poweroff
for word in $(cat /proc/cmdline); do
  case $word in
    vbtest.action=*) action=${word#vbtest.action=} ;;
  esac
done

if [ -f /lib/modules/load-order ]; then
  while read -r ko; do
    insmod "/lib/modules/$ko" || echo "VBTEST-INSMOD-FAILED=$ko"
  done </lib/modules/load-order
fi

[ -x /vbtest-extra ] && /vbtest-extra

echo "VBTEST-ACTION=$action"
case $action in
  reboot) reboot -f ;;
  panic) echo c >/proc/sysrq-trigger ;;
  poweroff) poweroff -f ;;
  hang) while :; do sleep 60; done ;;
esac
sleep 5
echo "VBTEST-ACTION-DID-NOT-END-VM"
poweroff -f
