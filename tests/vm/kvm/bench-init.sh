#!/bin/sh
# /init for voidbox-bench boot: the same endpoint for every VMM measured: a
# console line. Also writes the voidbox-vmm boot-ready port, then idles (the
# bench kills the VMM once it has the line).
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
echo VBBENCH-READY
printf '\001' | dd of=/dev/port bs=1 seek=1008 count=1 2>/dev/null
while :; do sleep 60; done
