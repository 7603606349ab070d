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
    # Under the nested harness L1 runs the same kernel, so the release alone
    # would also match a command run outside the guest: the guest's boot_id
    # (random per boot) must differ from this machine's, and its MemTotal
    # must fit the memory asked for (L1 has several times more).
    mem_mb=768
    out=$("$vb" exec --backend kvm --memory "$mem_mb" -- sh -c \
      'uname -r; cat /proc/sys/kernel/random/boot_id; sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo') ||
      fail "exec failed with $?"
    mapfile -t lines <<<"$out"
    ((${#lines[@]} == 3)) || fail "expected 3 lines from the guest, got: $out"
    [[ ${lines[0]} == "$krel" ]] || fail "guest says '${lines[0]}', expected kernel $krel"
    here_boot_id=$(cat /proc/sys/kernel/random/boot_id)
    [[ ${lines[1]} =~ ^[0-9a-f-]{36}$ ]] || fail "guest boot_id '${lines[1]}' is not a boot id"
    [[ ${lines[1]} != "$here_boot_id" ]] || fail "the command ran outside the guest: boot_id $here_boot_id is this machine's"
    memtotal=${lines[2]}
    want=$((mem_mb * 1024))
    [[ $memtotal =~ ^[0-9]+$ ]] || fail "guest MemTotal '$memtotal' is not a number"
    # MemTotal excludes the kernel's own image and page array: a few percent.
    ((memtotal <= want && memtotal * 100 >= want * 85)) ||
      fail "guest MemTotal ${memtotal} kB does not fit the ${want} kB asked for"
    printf 'guest boot_id %s (this machine: %s), MemTotal %s kB of %s kB\n' \
      "${lines[1]}" "$here_boot_id" "$memtotal" "$want" >&2
    ;;
  exit7)
    set +e
    "$vb" exec --backend kvm -- sh -c 'echo out; echo err >&2; exit 7' \
      >"$state_root/exit7.out" 2>"$state_root/exit7.err"
    rc=$?
    set -e
    [[ $rc == 7 ]] || fail "exit status $rc, expected 7"
    [[ $(<"$state_root/exit7.out") == out ]] ||
      fail "stdout was '$(<"$state_root/exit7.out")', expected 'out'"
    # voidbox may log to stderr too; the command's line must be there, and
    # must not have leaked into stdout.
    grep -qx err "$state_root/exit7.err" ||
      fail "the command's stderr line is missing from stderr: $(<"$state_root/exit7.err")"
    ;;
  workflow)
    out=$("$vb" run --file "$src/specs/examples/workflow-text.yaml" --backend kvm) ||
      fail "run failed with $?"
    want=$'HELLO FROM A VOIDBOX WORKFLOW\ndone'
    [[ $out == "$want" ]] || fail "output was: $out"
    ;;
  conformance)
    # A skipped check is a check that did not happen: on kvm every test must
    # run and pass, so a skip fails this test as a failure would.
    set +e
    VOIDBOX_CONFORMANCE_BACKEND=kvm "$build/tests/voidbox_conformance_tests" --gtest_color=no \
      2>&1 | tee "$state_root/conformance.log"
    rc=${PIPESTATUS[0]}
    set -e
    ((rc == 0)) || fail "conformance suite failed on kvm (exit $rc)"
    if grep -q '^\[  SKIPPED \]' "$state_root/conformance.log"; then
      fail "tests skipped on kvm: $(grep '^\[  SKIPPED \] [A-Za-z]' "$state_root/conformance.log" | tr '\n' ' ')"
    fi
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$state_root/conformance.log")
    ((${passed:-0} > 0)) || fail "no conformance test passed"
    ;;
  *) fail "unknown case" ;;
esac
echo "kvm-e2e $case_name: ok"
