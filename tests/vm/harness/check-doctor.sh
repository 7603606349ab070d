#!/usr/bin/env bash
# Inner VM test: inside the harness, `voidbox doctor` must see a KVM that
# boots stock kernels (hardware KVM, which is what L1's kvm-amd is).
set -euo pipefail
voidbox=${1:?usage: check-doctor.sh PATH-TO-voidbox}

rc=0
json=$("$voidbox" doctor --output json) || rc=$?
printf '%s\n' "$json"
# Exit status 0 needs a guest kernel and initramfs too; this test is only
# about KVM, so 0 (all good) and 1 (something else missing) both pass here.
((rc == 0 || rc == 1)) || { echo "FAIL: voidbox doctor exited $rc" >&2; exit 1; }
# The "kvm" object holds no nested objects, so a regex can cut it out.
kvm=$(tr -d ' \n' <<<"$json" | grep -o '"kvm":{[^}]*}' || true)
[[ -n $kvm ]] || { echo "FAIL: no kvm object in doctor's JSON" >&2; exit 1; }
for want in '"usable":true' '"hardware_kvm":true' '"pvm":false' '"boots_stock_kernels":true'; do
  [[ $kvm == *"$want"* ]] || { echo "FAIL: doctor's kvm object lacks $want: $kvm" >&2; exit 1; }
done
human=$("$voidbox" doctor) || true
printf '%s\n' "$human"
grep -qi 'hardware' <<<"$human" || { echo "FAIL: human output does not say hardware KVM" >&2; exit 1; }
echo PASS
