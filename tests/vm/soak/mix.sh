#!/usr/bin/env bash
# The fixed mix one soak run executes inside one L1 (scripts/vmtest-soak.sh):
# a KVM exec, a 16 MiB vsock transfer through the guest agent, and a
# workflow. Each part checks its own result, so a run that finishes but
# goes wrong counts as a failure, not as a stall-free pass.
set -euo pipefail
src=${VOIDBOX_SOURCE_DIR:?}
build=${VOIDBOX_BUILD_DIR:?}
vb=$build/bin/voidbox
export XDG_RUNTIME_DIR; XDG_RUNTIME_DIR=$(mktemp -d /tmp/soak.XXXXXX)
trap 'rm -rf -- "$XDG_RUNTIME_DIR"' EXIT
export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-120}

t0=$(date +%s%N)
lap() { printf "soak-mix: %s %d ms\n" "$1" $((($(date +%s%N) - t0) / 1000000)) >&2; t0=$(date +%s%N); }

krel=$("$src/scripts/fetch-kernel.sh" --quiet --offline | sed -n 's/^VERSION=//p')
# The guest's own boot_id: L1 runs the same kernel, so uname alone would
# also pass if the command ran in L1 instead of the guest.
l1_boot_id=$(</proc/sys/kernel/random/boot_id)
out=$("$vb" exec --backend kvm -- sh -c 'uname -r; cat /proc/sys/kernel/random/boot_id')
[[ $(sed -n 1p <<<"$out") == "$krel" ]] || { echo "soak-mix: exec said: $out" >&2; exit 1; }
guest_boot_id=$(sed -n 2p <<<"$out")
[[ -n $guest_boot_id && $guest_boot_id != "$l1_boot_id" ]] ||
  { echo "soak-mix: exec did not run in a guest (boot_id $guest_boot_id)" >&2; exit 1; }
lap exec

bytes=$("$vb" exec --backend kvm -- head -c 16777216 /dev/zero | wc -c)
((bytes == 16777216)) || { echo "soak-mix: vsock transfer gave $bytes bytes" >&2; exit 1; }
lap vsock-16MiB

out=$("$vb" run --backend kvm --file "$src/specs/examples/workflow-text.yaml")
[[ $out == $'HELLO FROM A VOIDBOX WORKFLOW\ndone' ]] ||
  { echo "soak-mix: workflow said: $out" >&2; exit 1; }
lap workflow
