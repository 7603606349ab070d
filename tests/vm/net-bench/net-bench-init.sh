#!/bin/sh
# /init for `voidbox-bench net`, the same for every VMM measured: loads
# virtio_mmio and virtio_net, gives eth0 the user-mode network's addresses
# (guest 10.0.2.15/24, gateway 10.0.2.2; no DHCP), then runs the three
# client modes against the bench's server on the host and powers off. The
# bench passes its server port and the sizes on the kernel command line:
#   vbnet.port=PORT vbnet.mib=MIB vbnet.crr=ROUNDS
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
printf '\001' | dd of=/dev/port bs=1 seek=1008 count=1 2>/dev/null
while read -r ko; do
  insmod "/lib/modules/$ko" || echo "VBNET-INSMOD-FAILED=$ko"
done </lib/modules/load-order
port="" mib=64 crr=200
for word in $(cat /proc/cmdline); do
  case $word in
    vbnet.port=*) port=${word#vbnet.port=} ;;
    vbnet.mib=*) mib=${word#vbnet.mib=} ;;
    vbnet.crr=*) crr=${word#vbnet.crr=} ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
  echo "VBNET-ERROR setup: no eth0 (interfaces: $(ls /sys/class/net | tr '\n' ' '))"
elif [ -z "$port" ]; then
  echo "VBNET-ERROR setup: no vbnet.port= on the kernel command line"
else
  ip link set lo up
  ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0
  ip route add default via 10.0.2.2
  echo "VBNET-UP mtu=$(cat /sys/class/net/eth0/mtu)"
  /net-bench-guest 10.0.2.2 "$port" send "$mib"
  /net-bench-guest 10.0.2.2 "$port" recv "$mib"
  /net-bench-guest 10.0.2.2 "$port" crr "$crr"
fi
echo "VBNET-DONE"
poweroff -f
