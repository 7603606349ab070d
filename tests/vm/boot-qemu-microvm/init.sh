#!/bin/sh
# /init of the QEMU-microvm boot test guest. Proves the guest ran by echoing
# the per-run nonce from the kernel command line next to a fixed marker (the
# kernel itself never prints the marker), then ends the VM: with reboot=t the
# reboot is a triple fault, which QEMU's -no-reboot turns into an exit.
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc

nonce=missing
read -r cmdline </proc/cmdline
for word in $cmdline; do
  case $word in
    voidbox.nonce=*) nonce=${word#voidbox.nonce=} ;;
  esac
done
echo "VOIDBOX-GUEST-MARKER $nonce"
echo "VOIDBOX-GUEST-UPTIME $(cut -d' ' -f1 /proc/uptime)"
reboot -f
sleep 10
echo "VOIDBOX-GUEST-REBOOT-FAILED"
