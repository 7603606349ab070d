#!/bin/sh
# Run by the test /init after virtio_mmio and virtio_blk are loaded: reports
# the disk the virtio-blk device plugin serves, then writes to it.
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ -b /dev/vda ] || { echo "VBTEST-BLK-MISSING"; exit 0; }
echo "VBTEST-BLK-SECTORS=$(cat /sys/block/vda/size)"
echo "VBTEST-BLK-SERIAL=$(cat /sys/block/vda/serial 2>/dev/null)"
echo "VBTEST-BLK-SHA=$(head -c 4194304 /dev/vda | sha256sum | cut -d' ' -f1)"
# 1 MiB of the guest's own, past what was hashed, flushed to the device.
head -c 1048576 /dev/urandom >/tmp/guest.bin
echo "VBTEST-BLK-GUEST-SHA=$(sha256sum </tmp/guest.bin | cut -d' ' -f1)"
if dd if=/tmp/guest.bin of=/dev/vda bs=4096 seek=1536 conv=fsync 2>/tmp/dd.err; then
  echo "VBTEST-BLK-WRITTEN"
else
  echo "VBTEST-BLK-WRITE-FAILED: $(cat /tmp/dd.err)"
  dmesg | tail -n 5
fi
