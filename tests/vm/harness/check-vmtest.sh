#!/usr/bin/env bash
# Checks one behaviour of scripts/vmtest.sh (ctest label "harness").
# Usage: check-vmtest.sh CASE   with CASE one of:
#   kvm-usable  false-status  status-7  stdout  stderr-separate  timeout
#   timeout-running  l1-hang
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
vmtest=${VMTEST:-$here/../../../scripts/vmtest.sh}
case_name=${1:?usage: check-vmtest.sh CASE}

work=$(mktemp -d "${TMPDIR:-/tmp}/check-vmtest.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
fail() {
  echo "FAIL ($case_name): $*" >&2
  echo "--- stdout:" >&2; cat "$work/out" >&2 || true
  echo "--- stderr:" >&2; cat "$work/err" >&2 || true
  exit 1
}
# Runs vmtest.sh with the given arguments; sets rc and elapsed (seconds).
run() {
  local start=$SECONDS
  rc=0
  "$vmtest" "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  elapsed=$((SECONDS - start))
}
expect_rc() { ((rc == $1)) || fail "exit status $rc, expected $1"; }

case $case_name in
  kvm-usable)
    # Inside the harness /dev/kvm must come from hardware-style KVM (here:
    # kvm-amd in L1 over TCG's emulated SVM), not PVM.
    run -- sh -c 'grep -qwE "svm|vmx" /proc/cpuinfo && test -c /dev/kvm && test ! -e /sys/module/kvm_pvm'
    expect_rc 0
    ;;
  false-status)
    run -- false
    expect_rc 1
    ;;
  status-7)
    run -- sh -c 'exit 7'
    expect_rc 7
    ;;
  stdout)
    # Arguments with spaces, quotes, globs and $ must arrive verbatim.
    # shellcheck disable=SC2016 # the literal $HOME is the point
    run -- printf '<%s>\n' 'two words' "it's" '$HOME' '*' ''
    expect_rc 0
    # shellcheck disable=SC2016
    printf '<%s>\n' 'two words' "it's" '$HOME' '*' '' >"$work/want"
    cmp -s "$work/want" "$work/out" || fail "stdout differs from the expected lines"
    ;;
  stderr-separate)
    run -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'
    expect_rc 3
    grep -qx to-stdout "$work/out" || fail "stdout line missing"
    grep -qx to-stderr "$work/err" || fail "stderr line missing from stderr"
    grep -q to-stderr "$work/out" && fail "stderr leaked into stdout"
    grep -q to-stdout "$work/err" && fail "stdout leaked into stderr"
    ;;
  timeout)
    run --timeout 5 -- sleep 600
    expect_rc 124
    grep -qi timeout "$work/err" || fail "no timeout message on stderr"
    # 5 s plus teardown; well below the 600 s the command asked for.
    ((elapsed < 45)) || fail "took ${elapsed}s to give up"
    ;;
  timeout-running)
    # Killed while COMMAND runs: what it printed before still arrives.
    run --timeout 60 -- sh -c 'echo started; sleep 600'
    expect_rc 124
    grep -qi timeout "$work/err" || fail "no timeout message on stderr"
    grep -qx started "$work/out" || fail "output printed before the timeout was lost"
    ((elapsed < 100)) || fail "took ${elapsed}s to give up"
    ;;
  l1-hang)
    # An L1 whose heartbeat stops is given up on early, not at the timeout,
    # and --retries boots a fresh one. COMMAND stops the heartbeat itself.
    # shellcheck disable=SC2016 # expanded inside L1
    # The timeout leaves room for two slow boots on a busy host; giving up
    # well before it is what shows the heartbeat, not the timeout, acted.
    run --hang-after 20 --retries 1 --timeout 400 -- \
      sh -c 'kill "$(cat "$TMPDIR/../ctl/heartbeat.pid")" && echo heartbeat-stopped; sleep 600'
    expect_rc 125
    (($(grep -c 'stopped responding' "$work/err") == 2)) || fail "expected two attempts to stop responding"
    grep -q 'attempt 2 of 2' "$work/err" || fail "no retry announced"
    # Before the kill the monitor says where every L1 vCPU was.
    (($(grep -cE 'L1 CPU#0: RIP=0x[0-9a-f]{16} CPL=[0-3] ' "$work/err") == 2)) ||
      fail "no vCPU location from QEMU's monitor in each attempt"
    (($(grep -c heartbeat-stopped "$work/out") == 2)) || fail "COMMAND did not run in each attempt"
    ((elapsed < 300)) || fail "took ${elapsed}s to give up on a silent L1"
    ;;
  *)
    echo "check-vmtest.sh: unknown case $case_name" >&2
    exit 2
    ;;
esac
echo "PASS ($case_name)"
