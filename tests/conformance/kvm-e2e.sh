#!/usr/bin/env bash
# KVM end-to-end checks of `voidbox exec` / `voidbox run` and the backend
# conformance suite on the kvm backend. Runs inside the VM test harness
# (registered with voidbox_add_vm_test); needs the guest kernel and image,
# which it makes (or reuses) with the repository's scripts.
#
#   kvm-e2e.sh uname | exit7 | workflow | conformance
set -euo pipefail

case_name=${1:?usage: kvm-e2e.sh uname|exit7|workflow|conformance}
build=${VOIDBOX_BUILD_DIR:?}
src=${VOIDBOX_SOURCE_DIR:?}
vb=$build/bin/voidbox

# Each VM's state directory (console, VMM log) is kept under $state_root
# and shown when a check fails. It must be local: it holds Unix sockets,
# which the harness's 9p TMPDIR cannot.
state_root=$(mktemp -d /tmp/kvm-e2e.XXXXXX)
trap 'rm -rf -- "$state_root"' EXIT
export XDG_RUNTIME_DIR=$state_root VOIDBOX_KEEP_STATE=1
show_vm_logs() {
  local f
  for f in "$state_root"/voidbox/*/vmm.log "$state_root"/voidbox/*/console.log; do
    [[ -f $f ]] || continue
    printf -- '--- %s (last 40 lines) ---\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}
fail() {
  printf 'kvm-e2e %s: FAIL: %s\n' "$case_name" "$*" >&2
  show_vm_logs
  exit 1
}
value() { sed -n "s/^$1=//p" <<<"$2" | tail -1; }

export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-120}
kernel_info=$("$src/scripts/fetch-kernel.sh" --quiet) || fail "scripts/fetch-kernel.sh failed"
krel=$(value VERSION "$kernel_info")
image_info=$("$src/scripts/build-guest-image.sh" --quiet --kernel-version "$krel" \
  --agent "$build/bin/voidbox-guest-agent") || fail "scripts/build-guest-image.sh failed"
# The kernel is left to voidbox's own lookup, as for a user: the cached
# kernel paired with the image, its uncompressed vmlinux when there is one.
unset VOID_BOX_KERNEL
export VOID_BOX_INITRAMFS; VOID_BOX_INITRAMFS=$(value INITRAMFS "$image_info")
[[ -f $VOID_BOX_INITRAMFS ]] || fail "no initramfs: $image_info"

case $case_name in
  uname)
    out=$("$vb" exec --backend kvm -- uname -r) || fail "exec failed with $?"
    [[ $out == "$krel" ]] || fail "guest says '$out', expected kernel $krel"
    ;;
  exit7)
    set +e
    "$vb" exec --backend kvm -- sh -c 'echo out; echo err >&2; exit 7'
    rc=$?
    set -e
    [[ $rc == 7 ]] || fail "exit status $rc, expected 7"
    ;;
  workflow)
    out=$("$vb" run --file "$src/specs/examples/workflow-text.yaml" --backend kvm) ||
      fail "run failed with $?"
    want=$'HELLO FROM A VOIDBOX WORKFLOW\ndone'
    [[ $out == "$want" ]] || fail "output was: $out"
    ;;
  conformance)
    VOIDBOX_CONFORMANCE_BACKEND=kvm "$build/tests/voidbox_conformance_tests" ||
      fail "conformance suite failed on kvm"
    ;;
  *) fail "unknown case" ;;
esac
echo "kvm-e2e $case_name: ok"
