#!/bin/sh
# /init for `voidbox-bench devices`: loads virtio_mmio, virtio_blk and the
# vsock transport, reads the whole disk once with O_DIRECT (sequential, 1 MiB
# requests) between two console markers the bench timestamps, then serves
# the vsock echo the bench streams through, and powers off.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
printf '\001' | dd of=/dev/port bs=1 seek=1008 count=1 2>/dev/null
while read -r ko; do
  insmod "/lib/modules/$ko" || echo "VBBENCH-INSMOD-FAILED=$ko"
done </lib/modules/load-order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
if [ -b /dev/vda ]; then
  echo "VBBENCH-BLK-START"
  dd if=/dev/vda of=/dev/null bs=1M iflag=direct 2>/tmp/dd.err
  echo "VBBENCH-BLK-END rc=$? $(tail -n 1 /tmp/dd.err)"
else
  echo "VBBENCH-BLK-MISSING"
fi
/vbtest-vsock
poweroff -f
